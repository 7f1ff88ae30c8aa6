"""``textDocument/hover`` on identifiers: the definition's signature, docstring and place
at once; with ``hoverExplain`` on, a one-sentence explanation by the model, cached by the
definition's content so the next hover is instant.

Definitions come from the current document, then the workspace index (the files this
one imports first), then the other open documents. A hover never waits past
``hoverDeadlineMs``: a late explanation is left running and cached, and the signature
part is answered alone.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from pathlib import Path

import attrs
from lsprotocol import types
from pygls.uris import to_fs_path

from quill.context import syntax
from quill.lsp.language_server import QuillLanguageServer
from quill.lsp.snapshot import cursor_at


@attrs.frozen
class FoundDefinition:
    uri: str
    line: int  # 1-based, as the link shows it
    signature: str
    docstring: str | None
    source: str  # what an explanation is written from (and cached by)


def find_definition(ls: QuillLanguageServer, uri: str, name: str) -> FoundDefinition | None:
    """The definition of ``name`` as seen from the document ``uri``."""
    return (
        _in_document(ls, uri, name)
        or _in_index(ls, uri, name)
        or next(
            (
                found
                for other in ls.documents.uris()
                if other != uri and (found := _in_document(ls, other, name))
            ),
            None,
        )
    )


def _in_document(ls: QuillLanguageServer, uri: str, name: str) -> FoundDefinition | None:
    document = ls.documents.get(uri)
    language = syntax.language_of(document.language_id, uri)
    if language is None:
        return None
    for definition in syntax.parse(document.text, language).definitions():
        if definition.name == name:
            text = document.text
            return FoundDefinition(
                uri,
                text.count("\n", 0, definition.start) + 1,
                definition.signature,
                definition.docstring,
                text[definition.line_start : definition.end],
            )
    return None


def _in_index(ls: QuillLanguageServer, uri: str, name: str) -> FoundDefinition | None:
    """From the index: a definition in a file this one imports, else the only one."""
    if ls.workspace_context is None:
        return None
    index = ls.workspace_context.index
    entries = index.lookup(name)
    if not entries:
        return None
    path = to_fs_path(uri) or uri
    own = index.symbols_of(path)
    imported = {
        file
        for module in (own.imports if own else ())
        for file in index.resolve(path, own.language if own else "", module.module)
    }
    preferred = [entry for entry in entries if entry.path in imported]
    if not preferred and len(entries) > 1:
        return None  # several unrelated definitions: showing one would be a guess
    entry = (preferred or list(entries))[0]
    symbol = entry.symbol
    return FoundDefinition(
        Path(entry.path).as_uri(),
        symbol.start_line + 1,
        symbol.signature,
        symbol.docstring,
        symbol.outline or symbol.signature,
    )


def _markdown(found: FoundDefinition, language: str) -> str:
    path = to_fs_path(found.uri) or found.uri
    parts = [f"```{language}\n{found.signature}\n```"]
    if found.docstring:
        parts.append(found.docstring)
    name = path.rsplit("/", 1)[-1]
    parts.append(f"*Defined in* [{name}:{found.line}]({found.uri}#L{found.line})")
    return "\n\n".join(parts)


async def on_hover(ls: QuillLanguageServer, params: types.HoverParams) -> types.Hover | None:
    started = time.perf_counter()
    settings = ls.completions.settings
    uri = params.text_document.uri
    cursor = cursor_at(ls, uri, params.position)
    language = syntax.language_of(cursor.language_id, uri)
    if language is None:
        return None
    name = syntax.parse(cursor.text, language).identifier_at(cursor.offset)
    if name is None:
        return None
    found = find_definition(ls, uri, name)
    if found is None:
        return None
    markdown = _markdown(found, language)
    if settings.hover_explain and settings.enable:
        where = to_fs_path(found.uri) or found.uri
        task = ls.hover_explanations.explanation(
            partial(ls.completions.endpoints.get, settings), found.source, language, where
        )
        # A margin for answering: the deadline is the client's, not this function's.
        left = settings.hover_deadline_ms / 1000 - 0.05 - (time.perf_counter() - started)
        try:
            explanation = await asyncio.wait_for(asyncio.shield(task), max(left, 0.0))
        except TimeoutError:
            explanation = None  # still running: cached for the next hover
        if explanation:
            markdown += f"\n\n---\n\n{explanation}"
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, markdown))

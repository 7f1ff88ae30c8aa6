"""``textDocument/hover`` on identifiers: the definition's signature, docstring and place
at once; with ``hoverExplain`` on, a one-sentence explanation by the model, cached by the
definition's content so the next hover is instant.

Finding the definition is the context engine's (``quill.context.lookup``: the current
document, then the workspace index, then the other open documents); this handler turns the
request into that call and the answer into Markdown. A hover never waits past
``hoverDeadlineMs``: a late explanation is left running and cached, and the signature
part is answered alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from functools import partial

from lsprotocol import types
from pygls.uris import to_fs_path

from quill.context.lookup import FoundDefinition, OpenDocument, definition_at
from quill.lsp.language_server import QuillLanguageServer
from quill.lsp.snapshot import cursor_at


def _other_documents(ls: QuillLanguageServer, uri: str) -> Iterator[OpenDocument]:
    """The open documents but ``uri``, read only as far as the lookup gets."""
    for other in ls.documents.uris():
        if other != uri:
            document = ls.documents.get(other)
            path = to_fs_path(other) or other
            yield OpenDocument(other, path, document.language_id, document.text)


def _markdown(found: FoundDefinition) -> str:
    parts = [f"```{found.language}\n{found.signature}\n```"]
    if found.docstring:
        parts.append(found.docstring)
    name = found.path.rsplit("/", 1)[-1]
    parts.append(f"*Defined in* [{name}:{found.line}]({found.uri}#L{found.line})")
    return "\n\n".join(parts)


async def on_hover(ls: QuillLanguageServer, params: types.HoverParams) -> types.Hover | None:
    started = time.perf_counter()
    settings = ls.completions.settings
    uri = params.text_document.uri
    cursor = cursor_at(ls, uri, params.position)
    here = OpenDocument(uri, cursor.path, cursor.language_id, cursor.text)
    index = ls.workspace_context.index if ls.workspace_context is not None else None
    found = definition_at(here, cursor.offset, index, _other_documents(ls, uri))
    if found is None:
        return None
    markdown = _markdown(found)
    if settings.hover_explain and settings.enable:
        language, where = found.language, found.path
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

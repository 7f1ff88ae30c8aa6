"""``textDocument/hover`` on identifiers: the definition's signature, docstring and place
at once; with ``hoverExplain`` on, a one-sentence explanation by the model, cached by the
definition's content so the next hover is instant.

Definitions come from the open documents (tree-sitter); the workspace index is a later
issue. A hover never waits past ``hoverDeadlineMs``: a late explanation is left running
and cached, and the signature part is answered alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from lsprotocol import types
from pygls.uris import to_fs_path

from quill import syntax
from quill.backends.errors import ModelServerError
from quill.embedded_host import HostStartError
from quill.lsp.language_server import QuillLanguageServer
from quill.lsp.snapshot import cursor_at
from quill.model_calls import NotShared, prompter_of, run_model_call

log = logging.getLogger(__name__)

_MAX_CACHED = 512
_explanations: dict[str, asyncio.Task[str | None]] = {}


def find_definition(
    ls: QuillLanguageServer, uri: str, name: str
) -> tuple[str, str, syntax.Definition] | None:
    """``(uri, text, definition)`` of ``name``: this document first, then other open ones."""
    others = [other for other in ls.documents.uris() if other != uri]
    for candidate in [uri, *others]:
        document = ls.documents.get(candidate)
        language = syntax.language_of(document.language_id, candidate)
        if language is None:
            continue
        for definition in syntax.parse(document.text, language).definitions():
            if definition.name == name:
                return candidate, document.text, definition
    return None


def _markdown(uri: str, text: str, definition: syntax.Definition, language: str) -> str:
    line = text.count("\n", 0, definition.start) + 1
    path = to_fs_path(uri) or uri
    parts = [f"```{language}\n{definition.signature}\n```"]
    if definition.docstring:
        parts.append(definition.docstring)
    parts.append(f"*Defined in* [{path.rsplit('/', 1)[-1]}:{line}]({uri}#L{line})")
    return "\n\n".join(parts)


async def _explain(ls: QuillLanguageServer, source: str, language: str, path: str) -> str | None:
    try:
        endpoint = await ls.completions.endpoints.get(ls.completions.settings)
        prompter = await prompter_of(endpoint)
        answer = await run_model_call(endpoint, prompter.explain(source, language, True), path)
    except (ModelServerError, HostStartError, NotShared) as error:
        log.info("no hover explanation: %s", error)
        return None
    answer = answer.strip()
    if not answer:
        return None
    return answer if prompter.chat else f"This code {answer}"


def explanation_task(
    ls: QuillLanguageServer, source: str, language: str, path: str
) -> asyncio.Task[str | None]:
    key = hashlib.sha256(f"{language}\0{source}".encode()).hexdigest()
    task = _explanations.get(key)
    if task is None or (task.done() and (task.cancelled() or task.result() is None)):
        if len(_explanations) >= _MAX_CACHED:
            _explanations.pop(next(iter(_explanations)))
        task = _explanations[key] = asyncio.create_task(_explain(ls, source, language, path))
    return task


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
    where, text, definition = found
    markdown = _markdown(where, text, definition, language)
    if settings.hover_explain and settings.enable:
        source = text[definition.line_start : definition.end]
        task = explanation_task(ls, source, language, to_fs_path(where) or where)
        # A margin for answering: the deadline is the client's, not this function's.
        left = settings.hover_deadline_ms / 1000 - 0.05 - (time.perf_counter() - started)
        try:
            explanation = await asyncio.wait_for(asyncio.shield(task), max(left, 0.0))
        except TimeoutError:
            explanation = None  # still running: cached for the next hover
        if explanation:
            markdown += f"\n\n---\n\n{explanation}"
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, markdown))

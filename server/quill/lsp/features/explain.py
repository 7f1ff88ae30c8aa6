"""The ``quill.explain`` command: the model explains a selection (or the function or class
at a position) in Markdown.

Arguments: ``{"uri", "range"?, "position"?, "display"?}``. The Markdown is returned; unless
``display`` is ``"client"`` (the VS Code and Neovim clients show it themselves) it is also
shown with ``window/showMessage``.
"""

from __future__ import annotations

from typing import Any

import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from quill.actions.listing import line_bounds
from quill.actions.model_call import prompter_of, run_model_call
from quill.context import syntax
from quill.lsp.language_server import QuillLanguageServer
from quill.lsp.model_requests import model_request
from quill.lsp.snapshot import document_for

_converter = cattrs.Converter()


def _region(ls: QuillLanguageServer, arguments: dict[str, Any]) -> tuple[str, str, str]:
    """``(source, language, what)`` to explain."""
    uri = str(arguments["uri"])
    document = document_for(ls, uri)
    encoding = ls.documents.encoding
    language = syntax.language_of(document.language_id, uri)
    text = document.text
    if arguments.get("range"):
        selection = _converter.structure(arguments["range"], types.Range)
        start = document.offset_at(selection.start, encoding)
        end = document.offset_at(selection.end, encoding)
        if end > start:
            return text[start:end], language or "text", "the selection"
    position = _converter.structure(
        arguments.get("position") or (arguments.get("range") or {}).get("start"), types.Position
    )
    offset = document.offset_at(position, encoding)
    definition = syntax.parse(text, language).definition_at(offset) if language else None
    if definition is not None:
        source = text[definition.line_start : definition.end]
        return source, language or "text", f"`{definition.name}`"
    start, end = line_bounds(text, offset, offset)
    return text[start:end], language or "text", "this line"


async def explain(ls: QuillLanguageServer, *args: Any) -> str:
    arguments = args[0] if args else None
    if not isinstance(arguments, dict) or "uri" not in arguments:
        raise JsonRpcInvalidParams('quill.explain takes {"uri", "range" or "position"}')
    path = to_fs_path(str(arguments["uri"])) or str(arguments["uri"])
    try:
        source, language, what = _region(ls, arguments)
    except (ValueError, TypeError, cattrs.BaseValidationError) as error:
        raise JsonRpcInvalidParams(f"quill.explain: {error}") from error
    async with model_request(ls, f"Quill: explaining {what}"):
        endpoint = await ls.completions.endpoints.get(ls.completions.settings)
        prompter = await prompter_of(endpoint)
        call = prompter.explain(source, language, False)
        answer = await run_model_call(endpoint, call, path)
    markdown = f"### Explanation of {what}\n\n{answer.strip() or '(the model had nothing to say)'}"
    if arguments.get("display") != "client":
        ls.window_show_message(types.ShowMessageParams(types.MessageType.Info, markdown))
    return markdown

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

from quill.actions.explain import Subject, explain, subject_at
from quill.context import syntax
from quill.lsp.language_server import QuillLanguageServer
from quill.lsp.model_requests import model_request
from quill.lsp.snapshot import document_for

_converter = cattrs.Converter()


def _subject(ls: QuillLanguageServer, arguments: dict[str, Any]) -> Subject:
    uri = str(arguments["uri"])
    document = document_for(ls, uri)
    encoding = ls.documents.encoding
    language = syntax.language_of(document.language_id, uri)
    if arguments.get("range"):
        selection = _converter.structure(arguments["range"], types.Range)
        start = document.offset_at(selection.start, encoding)
        end = document.offset_at(selection.end, encoding)
        if end > start:
            return subject_at(document.text, language, start, end)
    position = _converter.structure(
        arguments.get("position") or (arguments.get("range") or {}).get("start"), types.Position
    )
    offset = document.offset_at(position, encoding)
    return subject_at(document.text, language, offset, offset)


async def explain_command(ls: QuillLanguageServer, *args: Any) -> str:
    arguments = args[0] if args else None
    if not isinstance(arguments, dict) or "uri" not in arguments:
        raise JsonRpcInvalidParams('quill.explain takes {"uri", "range" or "position"}')
    path = to_fs_path(str(arguments["uri"])) or str(arguments["uri"])
    try:
        subject = _subject(ls, arguments)
    except (ValueError, TypeError, cattrs.BaseValidationError) as error:
        raise JsonRpcInvalidParams(f"quill.explain: {error}") from error
    async with model_request(ls, f"Quill: explaining {subject.what}"):
        endpoint = await ls.completions.endpoints.get(ls.completions.settings)
        markdown = await explain(endpoint, subject, path)
    if arguments.get("display") != "client":
        ls.window_show_message(types.ShowMessageParams(types.MessageType.Info, markdown))
    return markdown

"""``textDocument/codeAction`` (listed at once, no model call) and ``codeAction/resolve``
(the model writes the edit, lazily). Clients without resolve support run the
``quill.applyAction`` command instead, which sends the edit with ``workspace/applyEdit``.

An action carries the document version it was listed for: resolving it after the document
changed fails with ``ContentModified`` (-32801), never with an edit made for other text;
the edit itself names that version too, so the client refuses it if it changed meanwhile.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcContentModified, JsonRpcInvalidParams
from pygls.uris import from_fs_path, to_fs_path

from quill.actions.listing import ActionSpec, list_actions
from quill.actions.resolve import RegionEdit, write_edit
from quill.context.syntax import language_of
from quill.documents import Document
from quill.edits import minimal_replacements
from quill.lsp.language_server import QuillLanguageServer
from quill.lsp.model_requests import model_request
from quill.lsp.snapshot import document_for

log = logging.getLogger(__name__)

APPLY_COMMAND = "quill.applyAction"
OPTIONS = types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite],
    resolve_provider=True,
)
_KINDS = {"fix": types.CodeActionKind.QuickFix}


def on_code_action(
    ls: QuillLanguageServer, params: types.CodeActionParams
) -> list[types.CodeAction]:
    uri = params.text_document.uri
    document = document_for(ls, uri)
    encoding = ls.documents.encoding
    try:
        start = document.offset_at(params.range.start, encoding)
        end = document.offset_at(params.range.end, encoding)
    except ValueError as error:
        raise JsonRpcInvalidParams(str(error)) from error
    diagnostics = [
        (
            document.offset_at(d.range.start, encoding),
            document.offset_at(d.range.end, encoding),
            d.message,
        )
        for d in params.context.diagnostics
        if d.range.start.line < document.line_count
    ]
    language = language_of(document.language_id, uri)
    specs = list_actions(document.text, language, start, end, diagnostics)
    resolve = ls.client.code_action_resolve
    result = []
    for spec in specs:
        data = {"uri": uri, "version": document.version, **attrs.asdict(spec)}
        action = types.CodeAction(
            title=spec.title,
            kind=_KINDS.get(spec.kind, types.CodeActionKind.RefactorRewrite),
            data=data,
        )
        if spec.kind == "custom" or not resolve:
            # The custom instruction is the client's argument: it goes through the command.
            action.command = types.Command(
                title=spec.title, command=APPLY_COMMAND, arguments=[data]
            )
        result.append(action)
    return result


def _spec(data: Any) -> tuple[str, int, ActionSpec]:
    try:
        fields = {field.name: data[field.name] for field in attrs.fields(ActionSpec)}
        return str(data["uri"]), int(data["version"]), ActionSpec(**fields)
    except (KeyError, TypeError, ValueError) as error:
        raise JsonRpcInvalidParams(f"not a Quill code action: {error}") from error


def _check_version(ls: QuillLanguageServer, uri: str, version: int) -> Document:
    document = document_for(ls, uri)
    if document.version != version:
        raise JsonRpcContentModified(
            f"{uri} changed (version {version} -> {document.version}); list the actions again"
        )
    return document


async def compute_edit(ls: QuillLanguageServer, data: Any) -> types.WorkspaceEdit:
    uri, version, spec = _spec(data)
    document = _check_version(ls, uri, version)
    path = to_fs_path(uri) or uri
    language = language_of(document.language_id, uri)
    started = time.perf_counter()
    async with model_request(ls, spec.title):
        endpoint = await ls.completions.endpoints.get(ls.completions.settings)
        context, root = ls.completions.context, ls.workspace.root_path
        region = await write_edit(spec, path, document.text, language, endpoint, context, root)
    log.info("action %s resolved in %.0f ms", spec.kind, (time.perf_counter() - started) * 1000)
    if region.path == path:
        _check_version(ls, uri, version)  # the document may have changed during the call
        return _edit_document(ls, uri, version, document.text, region)
    return _edit_other_file(ls, region)


def _edit_document(
    ls: QuillLanguageServer, uri: str, version: int | None, text: str, region: RegionEdit
) -> types.WorkspaceEdit:
    document = Document(uri, "", version or 0, text)
    encoding = ls.documents.encoding
    old = text[region.start : region.end]
    edits = [
        types.TextEdit(
            types.Range(
                document.position_at(replacement.start, encoding),
                document.position_at(replacement.end, encoding),
            ),
            replacement.text,
        )
        for replacement in minimal_replacements(old, region.text, region.start)
    ]
    return _workspace_edit(ls, uri, version, edits)


def _workspace_edit(
    ls: QuillLanguageServer,
    uri: str,
    version: int | None,
    edits: list[types.TextEdit],
    create: bool = False,
) -> types.WorkspaceEdit:
    if not ls.client.document_changes:
        return types.WorkspaceEdit(changes={uri: list(edits)})
    identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    changes: list[Any] = []
    if create:
        changes.append(
            types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True))
        )
    changes.append(types.TextDocumentEdit(identifier, list(edits)))
    return types.WorkspaceEdit(document_changes=changes)


def _edit_other_file(ls: QuillLanguageServer, region: RegionEdit) -> types.WorkspaceEdit:
    uri = from_fs_path(region.path) or region.path
    if region.create:
        start = types.Position(0, 0)
        insert = types.TextEdit(types.Range(start, start), region.text)
        return _workspace_edit(ls, uri, None, [insert], create=True)
    old = Path(region.path).read_text()
    if uri in ls.documents and ls.documents.get(uri).text == old:
        return _edit_document(ls, uri, ls.documents.get(uri).version, old, region)
    return _edit_document(ls, uri, None, old, region)


async def on_resolve(ls: QuillLanguageServer, action: types.CodeAction) -> types.CodeAction:
    action.edit = await compute_edit(ls, action.data)
    return action


async def apply_action(ls: QuillLanguageServer, *arguments: Any) -> bool:
    """The command behind each action: compute the edit, send it with ``workspace/applyEdit``.
    Arguments: the action's data, then optionally the custom instruction."""
    if not arguments:
        raise JsonRpcInvalidParams(f"{APPLY_COMMAND} takes the action's data")
    data = arguments[0]
    if len(arguments) > 1 and arguments[1] and isinstance(data, dict):
        data = {**data, "instruction": str(arguments[1])}
    edit = await compute_edit(ls, data)
    title = data.get("title", "Quill") if isinstance(data, dict) else "Quill"
    result = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=edit, label=str(title))
    )
    return bool(result.applied)

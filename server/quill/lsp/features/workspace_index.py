"""The workspace index over LSP: the first scan (with ``$/progress``), and the updates
that keep it current: buffers edited, files saved, files changed on disk.

Nothing here runs on a request's path. Scans and re-parses run in worker threads; an
edited buffer is re-indexed once typing pauses, not on every keystroke.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from quill.context.languages import SUFFIXES
from quill.context.workspace import WorkspaceContext
from quill.gitignore import is_git_ignored
from quill.lsp.language_server import QuillLanguageServer

log = logging.getLogger(__name__)

REINDEX_DELAY_S = 0.5  # after the last keystroke in a buffer
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def workspace_folders(params: types.InitializeParams) -> list[Path]:
    folders = [to_fs_path(folder.uri) for folder in params.workspace_folders or ()]
    if not folders and params.root_uri:
        folders = [to_fs_path(params.root_uri)]
    if not folders and params.root_path:
        folders = [params.root_path]
    return [Path(folder) for folder in folders if folder]


def attach(ls: QuillLanguageServer, params: types.InitializeParams) -> None:
    """Give the server its workspace context (at ``initialize``)."""
    ls.workspace_context = WorkspaceContext(workspace_folders(params), ls.open_buffers)
    ls.completions.context = ls.workspace_context.prompt_context


async def start(ls: QuillLanguageServer) -> None:
    """The first scan (at ``initialized``), and file watching where the client offers it."""
    context = ls.workspace_context
    if context is None or not context.folders or not ls.completions.settings.workspace_index:
        return
    await _watch_files(ls)
    token = await _progress_token(ls)
    loop = asyncio.get_running_loop()

    def report(done: int, total: int) -> None:
        if token is not None:
            loop.call_soon_threadsafe(_report, ls, token, done, total)

    if token is not None:
        ls.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title="Quill: indexing", percentage=0)
        )
    try:
        report_ = await context.scan(report)
        message = f"{report_.files} files in {report_.seconds:.1f} s"
    except Exception:
        log.exception("the workspace scan failed")
        message = "failed"
    if token is not None:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
    _warn_about_ignored_folders(ls, context.folders)


def _warn_about_ignored_folders(ls: QuillLanguageServer, folders: list[Path]) -> None:
    """Say once why a workspace gets no suggestions at all: a folder that an enclosing
    repository git-ignores (a virtualenv's package, a build folder) is private to Quill,
    and silence would look like a broken server."""
    # Rules are matched against files: any file inside the folder stands for it.
    ignored = [str(folder) for folder in folders if is_git_ignored(str(folder / "_"))]
    if ignored:
        ls.show_warning(
            f"Quill: {', '.join(ignored)} is ignored by git, so its files stay out of "
            "prompts and get no suggestions"
        )


def document_opened(ls: QuillLanguageServer, uri: str) -> None:
    _reindex_later(ls, uri, delay=0)


def document_changed(ls: QuillLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    context = ls.workspace_context
    if context is None:
        return
    path = to_fs_path(params.text_document.uri) or params.text_document.uri
    for change in params.content_changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            start, end = change.range.start.line, change.range.end.line
            added = len(_LINE_BREAK.findall(change.text))
            context.recent_edits.record(path, start, end, start + added)
    _reindex_later(ls, params.text_document.uri, delay=REINDEX_DELAY_S)


def document_closed(ls: QuillLanguageServer, uri: str) -> None:
    if ls.workspace_context is not None:
        if (handle := ls.workspace_context.reindex_timers.pop(uri, None)) is not None:
            handle.cancel()
        path = to_fs_path(uri) or uri
        ls.workspace_context.recent_edits.forget(path)
        ls.workspace_context.prompt_context.selection.forget(path)


async def on_did_save(ls: QuillLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    if ls.workspace_context is not None and (path := to_fs_path(params.text_document.uri)):
        await ls.workspace_context.file_changed(path)


async def on_did_change_watched_files(
    ls: QuillLanguageServer, params: types.DidChangeWatchedFilesParams
) -> None:
    if ls.workspace_context is None:
        return
    for event in params.changes:
        if event.uri in ls.documents:
            continue  # the buffer is the truth while it is open
        if path := to_fs_path(event.uri):
            await ls.workspace_context.file_changed(path)


def shutdown(ls: QuillLanguageServer) -> None:
    if ls.workspace_context is not None:
        ls.workspace_context.close()


def _reindex_later(ls: QuillLanguageServer, uri: str, delay: float) -> None:
    context = ls.workspace_context
    if context is None or not ls.completions.settings.workspace_index:
        return
    if (handle := context.reindex_timers.pop(uri, None)) is not None:
        handle.cancel()
    loop = asyncio.get_running_loop()
    context.reindex_timers[uri] = loop.call_later(delay, lambda: context.spawn(_reindex(ls, uri)))


async def _reindex(ls: QuillLanguageServer, uri: str) -> None:
    if ls.workspace_context is None:
        return
    ls.workspace_context.reindex_timers.pop(uri, None)
    if uri not in ls.documents:
        return
    document = ls.documents.get(uri)
    path = to_fs_path(uri) or uri
    try:
        await ls.workspace_context.buffer_changed(path, document.language_id, document.text)
    except Exception:
        log.exception("could not index %s", path)


async def _watch_files(ls: QuillLanguageServer) -> None:
    """Ask the client to report source files changed outside the editor (a checkout, a
    formatter run from the shell), where it can register watchers dynamically."""
    if not ls.client.watched_files_registration:
        return
    pattern = "**/*.{" + ",".join(sorted(suffix.lstrip(".") for suffix in SUFFIXES)) + "}"
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern=pattern)]
    )
    registration = types.Registration(
        id=f"quill-watch-{uuid.uuid4().hex}",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=options,
    )
    try:
        await ls.client_register_capability_async(
            types.RegistrationParams(registrations=[registration])
        )
    except Exception as error:
        log.info("the client did not take the file watcher: %s", error)


async def _progress_token(ls: QuillLanguageServer) -> str | None:
    if not ls.client.work_done_progress:
        return None
    token = f"quill-index-{uuid.uuid4().hex}"
    try:
        await ls.work_done_progress.create_async(token)
    except Exception:
        return None
    return token


def _report(ls: QuillLanguageServer, token: str, done: int, total: int) -> None:
    ls.work_done_progress.report(
        token,
        types.WorkDoneProgressReport(
            message=f"{done}/{total} files", percentage=done * 100 // max(total, 1)
        ),
    )

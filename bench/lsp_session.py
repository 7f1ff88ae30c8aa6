"""``quill serve`` driven over stdio as an editor drives it, for the benchmarks that measure
through the language server.

Owns what each of them would otherwise repeat: starting the server (with a fresh index
store, its log kept in a file or not), ``initialize`` with a workspace folder, the editor's
settings and work-done progress, waiting for the first index scan's ``$/progress`` end,
the messages a user would be shown, an inline completion request and its answer, the
``workspace/executeCommand`` calls the benchmarks read the server by (``quill.lastPrompt``,
``quill.stats``, ``quill.documentState``), shutting down whatever happens, and the
``--setting KEY=VALUE`` option that passes settings the way an editor does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

from lsprotocol import types
from pygls.lsp.client import LanguageClient

AUTOMATIC = types.InlineCompletionTriggerKind.Automatic


class BenchClient(LanguageClient):
    """A client that takes the server's progress and status messages."""

    def __init__(self, verbose: bool = False, name: str = "quill-replay") -> None:
        super().__init__(name, "0")
        self.verbose = verbose  # print each request's suggestion
        self.indexed = asyncio.Event()
        self.index_message = ""
        self.messages: list[str] = []  # window/showMessage: errors the user would see
        self.log_file: TextIO | None = None  # where the server's forwarded log goes, if kept

        @self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create_token(params: types.WorkDoneProgressCreateParams) -> None:
            """Any token is fine."""

        @self.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            value: Any = params.value  # a dict: ``LSPAny`` is not structured into a class
            if _field(value, "kind") == "end" and not self.indexed.is_set():
                self.index_message = str(_field(value, "message") or "")
                self.indexed.set()

        @self.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        @self.feature("quill/status")
        def status(params: object) -> None:
            """The status-bar notification: nothing to show here."""

        @self.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: types.LogMessageParams) -> None:
            """The server's log, forwarded to the client: the bench prints its own, and
            keeps the server's only where asked (``serve``'s ``log``)."""
            if self.log_file is not None:
                # When each line came, to lay the server's work beside the typist's keys.
                self.log_file.write(f"{time.perf_counter():.3f} {params.message}\n")

    async def start(
        self,
        cache_dir: Path | None = None,
        *,
        log_level: str | None = "warning",
        log: Path | None = None,
    ) -> None:
        """Start ``quill serve``: its index store in ``cache_dir`` (without one, the user's
        own), at ``log_level`` (None: the server's default), its stderr into the file ``log``
        (a pipe nobody reads would stall a verbose server once full) or else a pipe."""
        command = [sys.executable, "-m", "quill", "serve"]
        if log_level is not None:
            command += ["--log-level", log_level]
        env = None if cache_dir is None else {**os.environ, "QUILL_CACHE_DIR": str(cache_dir)}
        if log is None:
            await self.start_io(*command, env=env)
        else:
            shell = f"exec {shlex.join(command)} 2>{shlex.quote(str(log))}"
            await self.start_io("/bin/sh", "-c", shell, env=env)

    async def initialize_editor(self, root: Path | None, options: dict[str, Any]) -> None:
        """``initialize`` (with work-done progress, and ``root`` as the workspace folder
        where there is one) and ``initialized``."""
        folders = [types.WorkspaceFolder(root.as_uri(), root.name)] if root else None
        await self.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=True)
                ),
                root_uri=root.as_uri() if root else None,
                workspace_folders=folders,
                initialization_options=options,
            )
        )
        self.initialized(types.InitializedParams())

    async def serve(
        self,
        root: Path,
        cache_dir: Path,
        options: dict[str, Any],
        index_timeout_s: float,
        log: Path | None = None,
        log_level: str = "info",
    ) -> float:
        """Start ``quill serve`` on the workspace ``root`` with a fresh index store, as an
        editor with progress bars would, and wait for the index (unless ``workspaceIndex`` is
        off); the seconds it took. With ``log``, the server logs at ``log_level`` there (what
        it forwards to the client once initialized, each line after the bench's clock,
        ``time.perf_counter()``; and its stderr before)."""
        if log is None:
            await self.start(cache_dir)
        else:
            await self.start(cache_dir, log_level=log_level, log=log.with_suffix(".stderr"))
            self.log_file = log.open("w", buffering=1)
        await self.initialize_editor(root, options)
        started = time.perf_counter()
        if options.get("workspaceIndex", True):  # else no index is built, nor reported
            await asyncio.wait_for(self.indexed.wait(), timeout=index_timeout_s)
        return time.perf_counter() - started

    async def suggestion(
        self,
        uri: str,
        position: types.Position,
        trigger: types.InlineCompletionTriggerKind = AUTOMATIC,
    ) -> tuple[str, float]:
        """One inline completion asked as typing asks it: its text, and the milliseconds
        until it came."""
        items, elapsed_ms = await timed_completion(self, uri, position, trigger)
        return first_suggestion(items), elapsed_ms

    def print_messages(self, indent: str = "") -> None:
        """What the server showed the user (``window/showMessage``), each once, counted."""
        for message in sorted(set(self.messages)):
            print(f"{indent}shown to the user {self.messages.count(message)} times: {message}")


def _field(value: Any, name: str) -> Any:
    """A field of a ``$/progress`` value, whether it arrived as a dict or a structure."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


@asynccontextmanager
async def shut_down_after(client: LanguageClient) -> AsyncIterator[None]:
    """Shut the server down and let it exit when the block ends well; stop the client (and
    the server's process) however it ends."""
    try:
        yield
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()  # type: ignore[no-untyped-call]  # pygls leaves it untyped
        if isinstance(client, BenchClient) and client.log_file is not None:
            client.log_file.close()


def completion_params(
    uri: str, position: types.Position, trigger: types.InlineCompletionTriggerKind = AUTOMATIC
) -> types.InlineCompletionParams:
    """A ``textDocument/inlineCompletion`` at ``position``, as typing (Automatic) or a key
    binding (Invoked) asks it."""
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger),
        text_document=types.TextDocumentIdentifier(uri),
        position=position,
    )


def completion_items(answer: Any) -> list[types.InlineCompletionItem]:
    """The items of an inline completion answer, a list or an ``InlineCompletionList``."""
    items = answer.items if isinstance(answer, types.InlineCompletionList) else answer
    return list(items or [])


def first_suggestion(answer: Any) -> str:
    """The text of the answer's first item ("" for none): what ghost text would show."""
    items = completion_items(answer)
    return str(items[0].insert_text) if items else ""


async def timed_completion(
    client: LanguageClient,
    uri: str,
    position: types.Position,
    trigger: types.InlineCompletionTriggerKind = AUTOMATIC,
) -> tuple[list[types.InlineCompletionItem], float]:
    """One inline completion, awaited: its items, and the milliseconds until they came."""
    started = time.perf_counter()
    answer = await client.text_document_inline_completion_async(
        completion_params(uri, position, trigger)
    )
    return completion_items(answer), (time.perf_counter() - started) * 1000


async def execute(client: LanguageClient, command: str, *arguments: Any) -> Any:
    """The answer to ``workspace/executeCommand`` ``command``."""
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments) or None)
    )


def add_setting_argument(parser: argparse.ArgumentParser) -> None:
    """``--setting KEY=VALUE``, repeatable: read with ``parse_settings``."""
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a server setting, camelCase, the value as JSON (repeatable)",
    )


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as editor settings: each value JSON if it parses, else a string."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise SystemExit(f"--setting {pair!r}: expected KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options

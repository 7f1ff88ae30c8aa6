"""Shared fixtures: the real model host with the packaged model, and LSP clients."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is downloaded at run time, in tests least of all

FIXTURES = Path(__file__).parent / "fixtures"
# stats.py, with the cursor in the body of its last function, after the indentation.
STATS = (FIXTURES / "stats.py").read_text() + "    "
STATS_URI = "file:///project/stats.py"
STATS_BODY = types.Position(line=STATS.count("\n"), character=4)
# A place where any language model goes on the same way (it counts on), for tests that need
# *a* suggestion to check plumbing (a range, an encoding, an edit applied in an editor):
# they must not depend on what a small model happens to write about real code.
COUNTING = "digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, "
COUNTING_URI = "file:///project/digits.py"
COUNTING_END = types.Position(line=0, character=len(COUNTING))


START_TIMEOUT_S = 60.0
ANNOUNCEMENT_PREFIX = "Quill host serving "


@dataclass(frozen=True)
class Host:
    """A running host and what it announced."""

    url: str
    model_id: str
    process: subprocess.Popen[str]
    stderr_path: Path


def start_host(args: list[str], log_dir: Path) -> Host:
    """Start a host and wait for its one stdout line (printed once it can serve)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    stderr_path = log_dir / "host.stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "quill_host", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
    stdout = process.stdout
    assert stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    line = lines[0].strip() if lines else ""
    if not line.startswith(ANNOUNCEMENT_PREFIX):
        process.kill()
        process.wait()
        raise RuntimeError(f"host did not start: {line!r}\n{stderr_path.read_text()}")
    model_id, url = line.removeprefix(ANNOUNCEMENT_PREFIX).split(" at ")
    return Host(url=url, model_id=model_id, process=process, stderr_path=stderr_path)


def stop_host(host: Host) -> int:
    """SIGTERM, then the exit status (killing it if it hangs)."""
    host.process.terminate()
    try:
        return host.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        host.process.kill()
        host.process.wait()
        raise


@pytest.fixture(scope="session")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    running = start_host([], tmp_path_factory.mktemp("host"))
    try:
        yield running
    finally:
        stop_host(running)


@pytest.fixture(scope="session")
def model_host_url(host: Host) -> str:
    return host.url


StartClient = Callable[..., Awaitable[tuple[LanguageClient, types.InitializeResult]]]


@pytest_asyncio.fixture
async def start_client() -> AsyncIterator[StartClient]:
    """Start ``quill serve`` and initialize it; every client is shut down afterwards."""
    async with AsyncExitStack() as stack:

        async def start(
            initialization_options: dict[str, Any] | None = None,
            capabilities: types.ClientCapabilities | None = None,
            env: dict[str, str] | None = None,
            workspace: Path | None = None,
        ) -> tuple[LanguageClient, types.InitializeResult]:
            config = ClientServerConfig(
                server_command=[sys.executable, "-m", "quill", "serve"],
                server_env={**os.environ, **(env or {})},
            )
            client = await config.start()
            stack.push_async_callback(client.stop)
            stack.push_async_callback(client.shutdown_session)
            result = await client.initialize_session(
                types.InitializeParams(
                    capabilities=capabilities or types.ClientCapabilities(),
                    initialization_options=initialization_options,
                    workspace_folders=[types.WorkspaceFolder(workspace.as_uri(), workspace.name)]
                    if workspace
                    else None,
                )
            )
            return client, result

        yield start


# A client that shows progress (so the first scan reports its end) and watches files.
INDEX_PROGRESS = types.ClientCapabilities(
    window=types.WindowClientCapabilities(work_done_progress=True),
    workspace=types.WorkspaceClientCapabilities(
        did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
            dynamic_registration=True
        )
    ),
)


def ended_scan(client: LanguageClient) -> list[Any] | None:
    """The progress of the first scan if it has ended (``None`` while it runs)."""
    for reports in client.progress_reports.values():
        if reports and isinstance(reports[-1], types.WorkDoneProgressEnd):
            return reports
    return None


async def indexed(client: LanguageClient, timeout_s: float = 30) -> list[Any]:
    """The progress of the first scan, once it has ended: the scan runs in the
    background, and on a busy machine a request can come before the index has anything.
    (pytest-lsp fills in the progress from its own handler: there is no event to wait on.)"""
    deadline = time.monotonic() + timeout_s
    while (reports := ended_scan(client)) is None:
        if time.monotonic() >= deadline:
            raise AssertionError(f"no end of indexing: {client.progress_reports}")
        await asyncio.sleep(0.05)
    return reports


def inline_params(
    uri: str = STATS_URI, position: types.Position = STATS_BODY, automatic: bool = False
) -> types.InlineCompletionParams:
    """An inline completion request, invoked by hand unless ``automatic`` (typing)."""
    kind = types.InlineCompletionTriggerKind
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(kind.Automatic if automatic else kind.Invoked),
        text_document=types.TextDocumentIdentifier(uri),
        position=position,
    )


def open_document(client: LanguageClient, uri: str, text: str, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, 1, text))
    )

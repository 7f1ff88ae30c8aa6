"""`quill serve` started the way editors start it (vscode-languageclient appends
``--stdio``, ``--socket=N``, ``--pipe=NAME`` or ``--node-ipc``, and ``--clientProcessId=N``),
and ending with its editor so that no server is left orphaned."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig

SERVE = [sys.executable, "-m", "quill", "serve"]
EXIT_TIMEOUT_S = 15.0


def _initialize(process_id: int | None = None) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"processId": process_id, "capabilities": {}, "rootUri": None},
    }


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read_message(stream: IO[bytes]) -> dict[str, Any]:
    """The next message with a body (the header is Content-Length, then a blank line)."""
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    assert length, "the connection closed before a message"
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def _reply_to_initialize(stream: IO[bytes]) -> dict[str, Any]:
    while True:  # skip notifications the server may send first (log, status)
        message = _read_message(stream)
        if message.get("id") == 1:
            return message


@pytest.fixture
def editor() -> Iterator[subprocess.Popen[bytes]]:
    """A stand-in editor process: only its life matters here."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


def _serve(*flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*SERVE, *flags], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _end(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.kill()
    server.communicate()


async def test_starts_as_vscode_starts_it() -> None:
    """The exact arguments vscode-languageclient gives an stdio server."""
    config = ClientServerConfig(
        server_command=[*SERVE, "--stdio", f"--clientProcessId={os.getpid()}"]
    )
    client = await config.start()
    try:
        result = await client.initialize_session(
            types.InitializeParams(capabilities=types.ClientCapabilities(), process_id=os.getpid())
        )
        assert result.server_info is not None
        assert result.server_info.name == "quill"
        assert result.capabilities.inline_completion_provider
    finally:
        await client.shutdown_session()
        await client.stop()


def _listening_tcp() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(30)
    return listener


def _talk(listener: socket.socket) -> dict[str, Any]:
    """Accept the server's connection, as vscode-languageclient does, and initialize."""
    connection, _ = listener.accept()
    with connection:
        connection.settimeout(30)
        connection.sendall(_frame(_initialize()))
        return _reply_to_initialize(connection.makefile("rb"))


def test_connects_to_a_client_listening_on_a_socket() -> None:
    with _listening_tcp() as listener:
        server = _serve(f"--socket={listener.getsockname()[1]}")
        try:
            reply = _talk(listener)
        finally:
            _end(server)
    assert reply["result"]["serverInfo"]["name"] == "quill"


@pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")
def test_connects_to_a_client_listening_on_a_pipe(tmp_path: Path) -> None:
    name = str(tmp_path / "quill.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(name)
        listener.listen(1)
        listener.settimeout(30)
        server = _serve(f"--pipe={name}")
        try:
            reply = _talk(listener)
        finally:
            _end(server)
    assert reply["result"]["serverInfo"]["name"] == "quill"


def test_node_ipc_is_refused_with_the_way_out() -> None:
    run = subprocess.run([*SERVE, "--node-ipc"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "--stdio" in run.stderr


def test_a_socket_nobody_listens_on_is_a_clear_error() -> None:
    with _listening_tcp() as listener:
        port = listener.getsockname()[1]
    run = subprocess.run([*SERVE, f"--socket={port}"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.startswith("quill serve: "), run.stderr
    assert "Traceback" not in run.stderr


def _exits_when_editor_dies(
    server: subprocess.Popen[bytes], editor: subprocess.Popen[bytes]
) -> int | None:
    """Kill the editor (stdin stays open, as when another process holds the pipe) and
    wait for the server to go."""
    editor.send_signal(signal.SIGKILL)
    editor.wait()
    deadline = time.monotonic() + EXIT_TIMEOUT_S
    while server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return server.poll()


def test_exits_when_the_client_process_id_on_its_command_line_dies(
    editor: subprocess.Popen[bytes],
) -> None:
    server = _serve("--stdio", f"--clientProcessId={editor.pid}")
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        # An answer means the server is up, so its watcher is too (it starts before the
        # message loop): an editor killed earlier would be a pid never seen, not watched.
        server.stdin.write(_frame(_initialize()))
        server.stdin.flush()
        assert "capabilities" in _reply_to_initialize(server.stdout)["result"]
        assert _exits_when_editor_dies(server, editor) == 0
    finally:
        _end(server)


def test_exits_when_the_process_id_of_initialize_dies(editor: subprocess.Popen[bytes]) -> None:
    server = _serve()
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        server.stdin.write(_frame(_initialize(process_id=editor.pid)))
        server.stdin.flush()
        assert "capabilities" in _reply_to_initialize(server.stdout)["result"]
        assert _exits_when_editor_dies(server, editor) == 0
    finally:
        _end(server)


def test_a_process_id_it_cannot_see_is_not_taken_for_a_dead_editor() -> None:
    """An editor in another PID namespace (a container) sends a pid we cannot see."""
    invisible = 2**22 + 12345  # above Linux's pid_max
    server = _serve()
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        server.stdin.write(_frame(_initialize(process_id=invisible)))
        server.stdin.flush()
        assert "capabilities" in _reply_to_initialize(server.stdout)["result"]
        time.sleep(2.0)  # two polls of the watcher, had it watched
        assert server.poll() is None
    finally:
        _end(server)

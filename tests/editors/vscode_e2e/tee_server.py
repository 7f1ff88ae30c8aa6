"""Stands between VS Code and ``quill serve`` to record what the client really sends.

    python tee_server.py RECORD_DIR SERVER_COMMAND... [client args, e.g. --stdio]

VS Code runs this as ``quill.server.command``; everything after RECORD_DIR is the server's
command line, with the arguments vscode-languageclient appends (``--stdio``,
``--clientProcessId=N``) passed on. It writes into RECORD_DIR:

- ``argv-N.json``: the server's command line for its N-th start (a restart is a new start);
- ``stdin-N.bin``: every byte the client wrote to the server (``initialize`` first);
- ``stdout-N.bin``: every byte the server wrote back (its ``initialize`` result first);
- ``events-N.jsonl``: one line per LSP message either way, when it passed (wall clock, ms),
  its direction (``"to server"`` / ``"to client"``), method and id: a timeline to lay beside
  the editor's own clock (bench/vscode_ghost_text.py);
- ``server.pid``: the process id of the running server, for a test that kills it as a crash.

If RECORD_DIR holds a file named ``refuse``, it exits at once with status 1: a server that
cannot start, for a test of the client giving up. Only the standard library: it runs with the
server's Python and must start fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO


def _next_index(record_dir: Path) -> int:
    index = 1
    while (record_dir / f"argv-{index}.json").exists():
        index += 1
    return index


class Timeline:
    """Cuts a byte stream into LSP messages (``Content-Length`` framing) and writes a line
    for each to the shared events file."""

    def __init__(self, direction: str, events: TextIO, lock: threading.Lock) -> None:
        self._direction = direction
        self._events = events
        self._lock = lock
        self._buffer = b""
        self._failed = False

    def feed(self, chunk: bytes) -> None:
        """Takes the bytes that just passed; a stream it cannot read ends the timeline,
        never the stream."""
        if self._failed:
            return
        try:
            self._feed(chunk)
        except (ValueError, StopIteration):
            self._failed = True

    def _feed(self, chunk: bytes) -> None:
        now = time.time() * 1000
        self._buffer += chunk
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            header = self._buffer[:end].decode("ascii", "replace")
            length = next(
                int(line.split(":", 1)[1])
                for line in header.split("\r\n")
                if line.lower().startswith("content-length:")
            )
            if len(self._buffer) < end + 4 + length:
                return
            body = self._buffer[end + 4 : end + 4 + length]
            self._buffer = self._buffer[end + 4 + length :]
            self._record(now, json.loads(body))

    def _record(self, now: float, message: dict[str, Any]) -> None:
        event = {
            "t": now,
            "direction": self._direction,
            "method": message.get("method"),
            "id": message.get("id"),
            "empty": _is_empty(message.get("result")) if "result" in message else None,
        }
        with self._lock:
            self._events.write(json.dumps(event) + "\n")
            self._events.flush()


def _is_empty(result: Any) -> bool:
    """Whether a result holds nothing to show (no items)."""
    if isinstance(result, dict):
        return not result.get("items")
    return not result


def _pump(source: int, sink: int, copy: int, timeline: Timeline) -> None:
    """Copy ``source`` to ``sink`` and ``copy`` until end of file, then close ``sink``; a
    server that is gone (killed by a test) ends it quietly. The bytes pass first; the
    timeline is written after, off their way."""
    try:
        while chunk := os.read(source, 65536):
            view = memoryview(chunk)
            while view:
                written = os.write(sink, view)
                view = view[written:]
            os.write(copy, chunk)
            timeline.feed(chunk)
    except OSError:
        pass
    finally:
        os.close(sink)


def main(argv: list[str]) -> int:
    record_dir = Path(argv[0])
    command = argv[1:]
    record_dir.mkdir(parents=True, exist_ok=True)
    if (record_dir / "refuse").exists():
        print("tee_server: refusing to start (test)", file=sys.stderr)
        return 1
    index = _next_index(record_dir)
    (record_dir / f"argv-{index}.json").write_text(json.dumps(command))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    stdin_copy = os.open(record_dir / f"stdin-{index}.bin", flags)
    stdout_copy = os.open(record_dir / f"stdout-{index}.bin", flags)
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    (record_dir / "server.pid").write_text(str(server.pid))
    assert server.stdin is not None
    assert server.stdout is not None
    to_server = os.dup(server.stdin.fileno())
    from_server = os.dup(server.stdout.fileno())
    server.stdin.close()
    server.stdout.close()
    events = (record_dir / f"events-{index}.jsonl").open("w")
    lock = threading.Lock()
    requests = Timeline("to server", events, lock)
    threading.Thread(target=_pump, args=(0, to_server, stdin_copy, requests), daemon=True).start()
    answers = Timeline("to client", events, lock)
    replies = threading.Thread(
        target=_pump, args=(from_server, 1, stdout_copy, answers), daemon=True
    )
    replies.start()
    code = server.wait()
    replies.join(timeout=5)  # the server's last words reach the client
    return code


if __name__ == "__main__":
    code = main(sys.argv[1:])
    # A pump blocked on stdin must not keep this process (and the client's pipe) alive.
    os._exit(code if code >= 0 else 128 - code)

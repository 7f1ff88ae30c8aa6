"""A stand-in model server that answers at once, for measuring everything but the model.

It speaks the part of TGI's HTTP API that ``quill serve`` uses: ``GET /info``, ``GET
/health``, ``POST /tokenize`` (one dummy token per 3 characters) and ``POST
/generate_stream`` (one token event, then the final event: ``"x\\n"``). It runs in a thread
of the benchmark (HTTP/1.1 with keep-alive, as TGI), and times its own work on each
``/generate_stream``, so the benchmark can subtract the model call from a round trip.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL_ID = "bench-instant"
CHARS_PER_TOKEN = 3

_INFO = {"model_id": MODEL_ID, "max_input_tokens": 32767, "max_total_tokens": 32768}
_EVENTS = (
    {
        "index": 0,
        "token": {"id": 1, "text": "x", "logprob": 0, "special": False},
        "generated_text": None,
        "details": None,
    },
    {
        "index": 1,
        "token": {"id": 2, "text": "\n", "logprob": 0, "special": False},
        "generated_text": "x\n",
        "details": {"finish_reason": "eos_token", "generated_tokens": 2, "seed": None},
    },
)
_STREAM = "".join(f"data:{json.dumps(event)}\n\n" for event in _EVENTS).encode()


@dataclass(frozen=True)
class StubTotals:
    """The stand-in's work so far: calls, and seconds spent answering them."""

    generate_calls: int = 0
    generate_s: float = 0.0
    tokenize_calls: int = 0
    tokenize_s: float = 0.0
    connections: int = 0  # TCP connections the clients opened


@dataclass
class StubStats:
    """Totals that the handler threads add to; read them between requests."""

    totals: StubTotals = field(default_factory=StubTotals)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def connected(self) -> None:
        with self.lock:
            self.totals = replace(self.totals, connections=self.totals.connections + 1)

    def add(self, route: str, seconds: float) -> None:
        with self.lock:
            t = self.totals
            if route == "/generate_stream":
                self.totals = replace(
                    t, generate_calls=t.generate_calls + 1, generate_s=t.generate_s + seconds
                )
            else:
                self.totals = replace(
                    t, tokenize_calls=t.tokenize_calls + 1, tokenize_s=t.tokenize_s + seconds
                )

    def snapshot(self) -> StubTotals:
        with self.lock:
            return self.totals


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection for all the requests
    disable_nagle_algorithm = True  # headers and body are two writes: never hold the second
    server: _StubServer

    def setup(self) -> None:
        super().setup()
        self.server.stats.connected()

    def do_GET(self) -> None:
        if self.path == "/info":
            self._send(200, "application/json", json.dumps(_INFO).encode())
        elif self.path == "/health":
            self._send(200, "application/json", b"{}")
        else:
            self._send(404, "application/json", b'{"error": "not found"}')

    def do_POST(self) -> None:
        started = time.perf_counter()
        body = self._body()
        if self.path == "/generate_stream":
            self._send(200, "text/event-stream", _STREAM)
        elif self.path == "/tokenize":
            count = max(1, len(str(body.get("inputs", ""))) // CHARS_PER_TOKEN)
            tokens = [{"id": 0, "text": "x", "start": 0, "stop": 1}] * count
            self._send(200, "application/json", json.dumps(tokens).encode())
        else:
            self._send(404, "application/json", b'{"error": "not found"}')
            return
        self.server.stats.add(self.path, time.perf_counter() - started)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a line per request would cost more than the request."""


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stats = StubStats()


@dataclass(frozen=True)
class InstantTgi:
    url: str
    stats: StubStats


@contextmanager
def instant_tgi() -> Iterator[InstantTgi]:
    """The stand-in, serving on a free local port until the block ends."""
    server = _StubServer()
    thread = threading.Thread(target=server.serve_forever, name="instant-tgi", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield InstantTgi(f"http://{host!s}:{port}", server.stats)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

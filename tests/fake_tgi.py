"""A stand-in TGI server for fault tests only: it stalls, streams slowly or errors on
purpose, and records what its clients did (a real server proves the features work)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class FakeTgi:
    """``behaviour``: "slow" streams a token every ``token_interval_s`` for a long time;
    "stall" sends headers and then nothing; "error" answers 500 with TGI's error body."""

    def __init__(self, behaviour: str, token_interval_s: float = 0.2) -> None:
        self.behaviour = behaviour
        self.token_interval_s = token_interval_s
        self.streams_started = 0
        self.streams_closed_by_client = 0
        self.requests: list[dict[str, Any]] = []

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/info", self._info),
                Route("/health", self._health),
                Route("/generate_stream", self._generate_stream, methods=["POST"]),
            ]
        )

    async def _info(self, request: Request) -> Response:
        return JSONResponse({"model_id": "fake/model", "max_input_tokens": 4096})

    async def _health(self, request: Request) -> Response:
        return Response(status_code=200)

    async def _generate_stream(self, request: Request) -> Response:
        self.requests.append(await request.json())
        if self.behaviour == "error":
            return JSONResponse({"error": "out of memory", "error_type": "generation"}, 424)
        return StreamingResponse(self._events(request), media_type="text/event-stream")

    async def _events(self, request: Request) -> AsyncIterator[str]:
        self.streams_started += 1
        try:
            for index in range(1000):
                if self.behaviour == "stall":
                    await asyncio.sleep(3600)
                await asyncio.sleep(self.token_interval_s)
                token = {"id": index, "text": "x", "logprob": 0.0, "special": False}
                event = {"index": index, "token": token, "generated_text": None, "details": None}
                yield f"data:{json.dumps(event)}\n\n"
        except asyncio.CancelledError:
            self.streams_closed_by_client += 1
            raise


@contextmanager
def serve_fake_tgi(fake: FakeTgi) -> Iterator[str]:
    """Serve ``fake`` on a free loopback port in a thread; yield its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(fake.app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a model server that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"

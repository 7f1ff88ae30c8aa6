"""A stand-in model server for fault tests only: it stalls, streams slowly or errors on
purpose, and records what its clients sent, on every route (a real server proves the
features work). It speaks TGI's API, or the OpenAI API as vLLM serves it."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send


@dataclass(frozen=True)
class Received:
    """One HTTP request as the server got it, whatever its route."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: str

    def __str__(self) -> str:
        headers = "\n".join(f"{name}: {value}" for name, value in self.headers)
        return f"{self.method} {self.path}?{self.query}\n{headers}\n\n{self.body}"


DIALECTS = ("tgi", "openai", "ollama", "llama.cpp")


class FakeTgi:
    """``behaviour``: "slow" streams a token every ``token_interval_s`` for a long time;
    "stall" sends headers and then nothing; "error" answers 424 with an error body;
    "status" answers ``status`` (429, 500, ...) with an error body; "ok" streams three
    tokens and the final event; "cut" stops after two tokens without the final event;
    "error_event" sends a mid-stream error event; "invalid_json" sends an event that
    is not JSON; "runaway" streams tokens as fast as it can and never stops; "huge_token"
    sends one token whose text is a megabyte.

    ``dialect``: "tgi" (``/info``, ``/generate_stream``), "openai" (vLLM's routes:
    ``/v1/models``, ``/v1/completions``, ``/version``, its ``/tokenize``), "ollama" (its
    documented ``/api`` routes, streaming newline-delimited JSON) or "llama.cpp"
    (``llama-server`` with a model that has FIM tokens: ``/props``, its ``/tokenize``, and
    ``/infill``, which streams in llama.cpp's own event shape)."""

    def __init__(
        self,
        behaviour: str,
        token_interval_s: float = 0.2,
        status: int = 500,
        dialect: str = "tgi",
        fim_tokens: bool = True,
    ) -> None:
        assert dialect in DIALECTS, dialect
        self.dialect = dialect
        self.fim_tokens = fim_tokens  # llama.cpp: whether its model can /infill
        self.behaviour = behaviour
        self.token_interval_s = token_interval_s
        self.status = status
        self.tokens_sent = 0
        self.streams_started = 0
        self.streams_closed_by_client = 0
        self.requests: list[dict[str, Any]] = []  # the bodies of the streamed generations
        self.received: list[Received] = []  # every request, on every route

    def app(self) -> _Recording:
        shared = [
            Route("/health", self._health),
            Route("/tokenize", self._tokenize, methods=["POST"]),
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
        ]
        if self.dialect == "tgi":
            routes = [
                Route("/info", self._info),
                Route("/generate_stream", self._generate_stream, methods=["POST"]),
            ]
        elif self.dialect == "ollama":
            routes = [
                Route("/api/version", self._version),
                Route("/api/ps", self._ollama_models),
                Route("/api/tags", self._ollama_models),
                Route("/api/show", self._ollama_show, methods=["POST"]),
                Route("/api/generate", self._generate_stream, methods=["POST"]),
                Route("/api/chat", self._chat, methods=["POST"]),
            ]
        elif self.dialect == "llama.cpp":
            routes = [
                Route("/v1/models", self._models),
                Route("/props", self._props),
                Route("/infill", self._infill, methods=["POST"]),
                Route("/v1/completions", self._generate_stream, methods=["POST"]),
            ]
        else:
            routes = [
                Route("/v1/models", self._models),
                Route("/version", self._version),
                Route("/v1/completions", self._generate_stream, methods=["POST"]),
            ]
        return _Recording(Starlette(routes=shared + routes), self.received)

    async def _models(self, request: Request) -> Response:
        model = {"id": "fake/model", "object": "model", "max_model_len": 4096}
        return JSONResponse({"object": "list", "data": [model]})

    async def _props(self, request: Request) -> Response:
        return JSONResponse({"default_generation_settings": {"n_ctx": 4096}})

    async def _infill(self, request: Request) -> Response:
        """llama.cpp's answer to its capability probe (no token asked) is served apart, so
        the behaviours and counters are those of the suggestions."""
        body = await request.json()
        if not self.fim_tokens:  # llama-server's answer for such a model
            message = "Infill is not supported by this model: prefix token is missing. "
            error = {"code": 501, "message": message, "type": "not_supported_error"}
            return JSONResponse({"error": error}, 501)
        if body.get("n_predict") == 0:
            return JSONResponse({"content": "", "stop": True})
        return await self._generate_stream(request)

    async def _version(self, request: Request) -> Response:
        return JSONResponse({"version": "0.0.0-fake"})

    async def _ollama_models(self, request: Request) -> Response:
        return JSONResponse({"models": [{"name": "fake/model:latest", "model": "fake/model"}]})

    async def _ollama_show(self, request: Request) -> Response:
        await request.json()
        info = {"general.architecture": "llama", "llama.context_length": 4096}
        return JSONResponse({"model_info": info, "capabilities": ["completion"]})

    async def _info(self, request: Request) -> Response:
        return JSONResponse({"model_id": "fake/model", "max_input_tokens": 4096})

    async def _health(self, request: Request) -> Response:
        return Response(status_code=200)

    async def _tokenize(self, request: Request) -> Response:
        """One entry per token (here, per three characters) for TGI; a count for vLLM."""
        body = await request.json()
        if self.dialect == "openai":
            return JSONResponse({"count": (len(body["prompt"]) + 2) // 3, "max_model_len": 4096})
        if self.dialect == "llama.cpp":
            return JSONResponse({"tokens": list(range((len(body["content"]) + 2) // 3))})
        text = body["inputs"]
        tokens = [
            {"id": index, "text": text[start : start + 3], "start": start, "stop": start + 3}
            for index, start in enumerate(range(0, len(text), 3))
        ]
        return JSONResponse(tokens)

    async def _chat(self, request: Request) -> Response:
        await request.json()
        message = {"role": "assistant", "content": "```python\nx\n```"}
        if self.dialect == "ollama":
            return JSONResponse({"message": message, "done": True})
        return JSONResponse({"choices": [{"index": 0, "message": message}]})

    async def _generate_stream(self, request: Request) -> Response:
        self.requests.append(await request.json())
        if self.behaviour == "error":
            return self._error_response("out of memory", "generation", 424)
        if self.behaviour == "status":
            error_type = {429: "overloaded"}.get(self.status, "server")
            return self._error_response(f"fake failure {self.status}", error_type, self.status)
        media_type = "application/x-ndjson" if self.dialect == "ollama" else "text/event-stream"
        return StreamingResponse(self._events(request), media_type=media_type)

    def _error_response(self, message: str, error_type: str, status: int) -> Response:
        if self.dialect == "ollama":
            return JSONResponse({"error": message}, status)
        if self.dialect == "openai":  # vLLM's error body
            body = {"object": "error", "message": message, "type": "Error", "code": status}
            return JSONResponse(body, status)
        if self.dialect == "llama.cpp":
            error = {"code": status, "message": message, "type": "server_error"}
            return JSONResponse({"error": error}, status)
        return JSONResponse({"error": message, "error_type": error_type}, status)

    def _token(self, index: int, final: bool = False) -> str:
        self.tokens_sent += 1
        return self._event(index, "x", final)

    def _raw(self, data: str) -> str:
        """One event whose JSON text is ``data`` (or is meant not to be JSON)."""
        return f"{data}\n" if self.dialect == "ollama" else f"data:{data}\n\n"

    def _event(self, index: int, text: str, final: bool = False) -> str:
        if self.dialect == "ollama":
            line = {"model": "fake/model", "response": text, "done": final}
            return json.dumps(line | ({"done_reason": "length"} if final else {})) + "\n"
        if self.dialect == "llama.cpp":  # /infill's own shape, timings on the last
            event: dict[str, Any] = {"index": 0, "content": text, "stop": final}
            if final:
                event["timings"] = {"cache_n": 0, "prompt_n": 10, "predicted_n": 3}
            return f"data: {json.dumps(event)}\n\n"
        if self.dialect == "openai":
            choice = {"index": 0, "text": text, "finish_reason": "length" if final else None}
            done = "data: [DONE]\n\n" if final else ""
            return f"data: {json.dumps({'id': 'cmpl-fake', 'choices': [choice]})}\n\n{done}"
        token = {"id": index, "text": text, "logprob": 0.0, "special": False}
        event = {"index": index, "token": token, "generated_text": "xxx" if final else None,
                 "details": None}  # fmt: skip
        return f"data:{json.dumps(event)}\n\n"

    async def _events(self, request: Request) -> AsyncIterator[str]:
        self.streams_started += 1
        if self.behaviour in ("ok", "cut", "error_event", "invalid_json"):
            for index in range(2):
                yield self._token(index)
            if self.behaviour == "ok":
                yield self._token(2, final=True)
            elif self.behaviour == "error_event":
                yield self._raw('{"error": "CUDA out of memory", "error_type": "generation"}')
            elif self.behaviour == "invalid_json":
                yield self._raw("{not json")
            return
        if self.behaviour == "huge_token":
            yield self._event(0, "x" * 1_000_000)
            return
        if self.behaviour == "runaway":
            try:
                for index in range(10**7):
                    yield self._token(index)
                    await asyncio.sleep(0)
            except asyncio.CancelledError:
                self.streams_closed_by_client += 1
                raise
            return
        try:
            for index in range(1000):
                if self.behaviour == "stall":
                    await asyncio.sleep(3600)
                await asyncio.sleep(self.token_interval_s)
                yield self._event(index, "x")
        except asyncio.CancelledError:
            self.streams_closed_by_client += 1
            raise


class _Recording:
    """ASGI middleware that keeps every request (its body read whole, then replayed to
    the app), so a test sees all that left the client, not only what a route parsed."""

    def __init__(self, app: Starlette, received: list[Received]) -> None:
        self._app = app
        self._received = received

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self._received.append(
            Received(
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"].decode("latin-1"),
                headers=tuple(
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                ),
                body=body.decode("utf-8", "replace"),
            )
        )
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # what comes next: a disconnect
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app(scope, replay, send)


@contextmanager
def serve_fake_tgi(
    fake: FakeTgi, port: int = 0, tls: tuple[Path, Path] | None = None
) -> Iterator[str]:
    """Serve ``fake`` on loopback ``port`` (0: a free one) in a thread; yield its URL.
    ``tls``: (certificate, key) files, to serve https."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        fake.app(),
        log_level="critical",
        ssl_certfile=tls and str(tls[0]),
        ssl_keyfile=tls and str(tls[1]),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
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


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no system trusts: (certificate, key) files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "quill-test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path

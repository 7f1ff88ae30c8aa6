"""The HTTP half every dialect shares: one pooled connection, TLS that is always verified,
server-sent events, and each way a request can fail turned into a ``ModelServerError``.

Plain httpx with httpx-sse rather than a vendor SDK: SDK clients keep a streamed response
open until the client itself is closed, so cancelling a completion would not stop the
model server from generating. Here each stream lives in its own ``async with``: leaving
it (a supersede, a ``$/cancelRequest``, a deadline) closes the connection.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from httpx_sse import SSEError, aconnect_sse

from quill.backends.base import MAX_TOKEN_CHARS, FillInMiddle, GenerationOptions, TokenChoice
from quill.backends.errors import FailureKind, ModelServerError


class HttpApi:
    """One model server's base URL, token and TLS trust; the dialects build on it."""

    def __init__(
        self,
        base_url: str,
        api_token: str = "",
        connect_timeout_s: float = 2.0,
        ca_bundle: str = "",
    ):
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
        # TLS is always verified: against ``ca_bundle`` when set, else the system store
        # (and ``SSL_CERT_FILE``). A CA file that cannot be read fails each request with
        # that reason, rather than falling back to no verification.
        self._setup_error: str | None = None
        verify: ssl.SSLContext | bool = True
        if ca_bundle:
            try:
                verify = ssl.create_default_context(cafile=ca_bundle)
            except (OSError, ssl.SSLError) as error:
                self._setup_error = f"caBundle {ca_bundle!r} cannot be used: {error}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            verify=verify,
            trust_env=True,  # HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE, as users expect
            # The whole-request deadline is the caller's; here only how long to wait for
            # a connection, so a dead server fails fast instead of at the deadline.
            timeout=httpx.Timeout(None, connect=connect_timeout_s),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def health(self) -> bool:
        try:
            response = await self._http.get("/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def fill_in_middle(
        self, request: FillInMiddle, options: GenerationOptions
    ) -> AsyncGenerator[str, None]:
        """Refused at once: this server takes only prompts laid out by Quill (a dialect
        that can lay out fill-in-the-middle itself overrides this)."""
        raise self.cannot_fill_in_middle()

    async def first_tokens(
        self, prompt: str, options: GenerationOptions, count: int
    ) -> list[TokenChoice]:
        """None said (a dialect whose server reports the likeliest tokens overrides this)."""
        return []

    def cannot_fill_in_middle(self) -> ModelServerError:
        return self.error(
            FailureKind.VALIDATION,
            "it does not lay out fill-in-the-middle itself (promptFormat infill needs "
            "llama.cpp's llama-server and a model with FIM tokens)",
        )

    @staticmethod
    def routing(options: GenerationOptions) -> Mapping[str, str]:
        """The headers that keep a document's requests on one replica behind a router."""
        return {"X-Session-ID": options.session} if options.session else {}

    async def send(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """One plain request; a server that cannot be reached is a ``ModelServerError``."""
        self._check_setup()
        try:
            return await self._http.request(method, path, json=body, headers=headers)
        except httpx.TimeoutException as error:
            raise self.error(FailureKind.TIMEOUT, type(error).__name__) from error
        except httpx.HTTPError as error:
            raise self.error(FailureKind.UNREACHABLE, _describe(error)) from error

    async def get_json(self, path: str) -> dict[str, Any]:
        return self.json_object(await self.send("GET", path), path)

    def json_object(self, response: httpx.Response, path: str) -> dict[str, Any]:
        """The JSON object of a 200 answer; anything else is the error it says it is."""
        if response.status_code != 200:
            raise self.http_error(response)
        try:
            body = response.json()
        except ValueError as error:
            raise self.error(FailureKind.PROTOCOL, f"{path} is not JSON") from error
        if not isinstance(body, dict):
            raise self.error(FailureKind.PROTOCOL, f"{path} is not a JSON object")
        return body

    @asynccontextmanager
    async def events(
        self, path: str, payload: Any, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[AsyncIterator[str]]:
        """The ``data`` of each server-sent event of a streamed POST."""
        self._check_setup()
        try:
            async with aconnect_sse(
                self._http, "POST", path, json=payload, headers=headers
            ) as source:
                if source.response.status_code != 200:
                    await source.response.aread()
                    raise self.http_error(source.response)
                yield (event.data async for event in source.aiter_sse())
        except httpx.TimeoutException as error:
            raise self.error(FailureKind.TIMEOUT, type(error).__name__) from error
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as error:
            raise self.error(FailureKind.UNREACHABLE, _describe(error)) from error
        except SSEError as error:
            raise self.error(FailureKind.PROTOCOL, str(error)) from error

    @asynccontextmanager
    async def json_lines(
        self, path: str, payload: Any, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[AsyncIterator[str]]:
        """Each line of a streamed POST answered in newline-delimited JSON (Ollama)."""
        self._check_setup()
        try:
            async with self._http.stream("POST", path, json=payload, headers=headers) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self.http_error(response)
                yield (line async for line in response.aiter_lines() if line.strip())
        except httpx.TimeoutException as error:
            raise self.error(FailureKind.TIMEOUT, type(error).__name__) from error
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as error:
            raise self.error(FailureKind.UNREACHABLE, _describe(error)) from error

    def decode_event(self, data: str) -> dict[str, Any]:
        try:
            event = json.loads(data)
        except ValueError as error:
            raise self.error(FailureKind.PROTOCOL, f"invalid JSON event {data!r:.200}") from error
        if not isinstance(event, dict):
            raise self.error(FailureKind.PROTOCOL, f"unexpected event {data!r:.200}")
        return event

    async def named_pieces(
        self, events: AsyncIterator[str], text_field: str, last_field: str, limit: int
    ) -> AsyncGenerator[str, None]:
        """The text of each streamed event in a shape that names its text and its end
        (Ollama's ``response`` and ``done``, llama.cpp's ``content`` and ``stop``), up to
        ``limit`` pieces. A token longer than any real one is garbage; a stream that ends
        before its last event was cut (``INCOMPLETE``)."""
        received = 0
        async for data in events:
            event = self.decode_event(data)
            if "error" in event:
                raise self.error(FailureKind.GENERATION, str(event["error"])[:200])
            text = event.get(text_field, "")
            if not isinstance(text, str):
                raise self.error(FailureKind.PROTOCOL, f"unexpected event {event!r:.200}")
            if len(text) > MAX_TOKEN_CHARS:
                raise self.error(FailureKind.PROTOCOL, f"a token of {len(text)} characters")
            if text:
                yield text
                received += 1
            if event.get(last_field) is True or received >= limit:
                return
        raise self.error(FailureKind.INCOMPLETE, "the stream ended before its last event")

    def http_error(self, response: httpx.Response) -> ModelServerError:
        """The error an answer describes, in TGI's shape (``error``, ``error_type``),
        OpenAI's (``error: {message, type}``) or vLLM's (``message``)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                message, error_type = error.get("message"), error.get("type")
            else:
                message, error_type = error or body.get("message"), body.get("error_type")
            if message:
                kind = FailureKind.from_error_type(_str_or_none(error_type), status)
                return self.error(kind, f"HTTP {status}: {message}")
        kind = FailureKind.from_error_type(None, status)
        return self.error(kind, f"HTTP {status}: {response.text[:200]}")

    def error(self, kind: FailureKind, detail: str) -> ModelServerError:
        return ModelServerError(kind, self.base_url, detail)

    def _check_setup(self) -> None:
        if self._setup_error is not None:
            raise self.error(FailureKind.UNREACHABLE, self._setup_error)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _describe(error: httpx.HTTPError) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"its TLS certificate is not trusted: {cause.verify_message}; if it is "
                "signed by a private CA, set caBundle to that CA's certificate file"
            )
        cause = cause.__cause__ or cause.__context__
    return str(error) or type(error).__name__

"""Client for the TGI HTTP API (``/generate_stream``, ``/info``, ``/health``).

Plain httpx with httpx-sse rather than ``huggingface_hub.AsyncInferenceClient``: that
client keeps every streamed response open on its exit stack until the client itself is
closed, so cancelling a completion would not stop the model server from generating.
Here each stream lives in its own ``async with``: leaving it (a supersede, a
``$/cancelRequest``, a deadline) closes the connection, and TGI stops generating.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
from httpx_sse import SSEError, aconnect_sse

from quill.backends.errors import FailureKind, ModelServerError

_DRAIN_TIMEOUT_S = 0.2  # for a server that sends its last event but keeps the stream open
MAX_TOKEN_CHARS = 256
"""Longer than any real token's text: an event carrying more is garbage, not a token, and must
not flood the editor."""


@attrs.frozen
class GenerationOptions:
    max_new_tokens: int
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def to_tgi_parameters(self) -> dict[str, Any]:
        parameters: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "stop": list(self.stop),
            "details": True,
            "return_full_text": False,
        }
        if self.temperature > 0:
            parameters.update(do_sample=True, temperature=self.temperature)
        else:
            parameters["do_sample"] = False
        if self.seed is not None:
            parameters["seed"] = self.seed
        return parameters


@attrs.frozen
class ServerInfo:
    model_id: str
    max_input_tokens: int | None
    max_total_tokens: int | None = None


class TgiClient:
    """One model server; a pooled HTTP connection shared by all requests."""

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

    async def info(self) -> ServerInfo:
        body = await self._get_json("/info")
        model_id = body.get("model_id")
        if not isinstance(model_id, str):
            raise self._error(FailureKind.PROTOCOL, "/info has no model_id")
        max_input = body.get("max_input_tokens", body.get("max_input_length"))
        max_total = body.get("max_total_tokens")
        return ServerInfo(
            model_id,
            max_input if isinstance(max_input, int) else None,
            max_total if isinstance(max_total, int) else None,
        )

    async def tokenize(self, text: str) -> int | None:
        """How many tokens the server's own tokenizer makes of ``text``; ``None`` when
        the server has no ``/tokenize`` (vLLM, llama.cpp's server speak other routes)."""
        response = await self._send("POST", "/tokenize", {"inputs": text})
        if response.status_code in (404, 405):
            return None
        if response.status_code != 200:
            raise self._http_error(response)
        try:
            tokens = response.json()
        except ValueError as error:
            raise self._error(FailureKind.PROTOCOL, "/tokenize is not JSON") from error
        if not isinstance(tokens, list):
            raise self._error(FailureKind.PROTOCOL, "/tokenize is not a JSON list")
        return len(tokens)

    async def chat(self, messages: list[dict[str, str]], options: GenerationOptions) -> str:
        """One answer from ``/v1/chat/completions``: the server applies the model's own
        chat template. Cancelling the caller closes the connection."""
        payload: dict[str, Any] = {
            "model": "tgi",
            "messages": messages,
            "max_tokens": options.max_new_tokens,
            "temperature": options.temperature,
            "stream": False,
        }
        if options.stop:
            payload["stop"] = list(options.stop)
        response = await self._send("POST", "/v1/chat/completions", payload)
        if response.status_code != 200:
            raise self._http_error(response)
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise self._error(FailureKind.PROTOCOL, "not a chat completion") from error
        return str(content or "")

    async def health(self) -> bool:
        try:
            response = await self._http.get("/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def generate_stream(
        self, prompt: str, options: GenerationOptions
    ) -> AsyncGenerator[str, None]:
        """Yield the text of each generated token; stops the server when closed early.

        A stream that ends without TGI's final event was cut (``INCOMPLETE``); a server
        that sends more tokens than asked is cut off at ``max_new_tokens``, so a runaway
        answer can neither flood the editor nor hold the request.
        """
        async with self._event_stream(prompt, options) as events:
            received = 0
            async for event in events:
                if "error" in event:
                    kind = FailureKind.from_error_type(event.get("error_type"), 500)
                    raise self._error(kind, str(event["error"]))
                token = event.get("token")
                if not isinstance(token, dict) or not isinstance(token.get("text"), str):
                    raise self._error(FailureKind.PROTOCOL, f"unexpected event {event!r:.200}")
                if len(token["text"]) > MAX_TOKEN_CHARS:
                    raise self._error(
                        FailureKind.PROTOCOL, f"a token of {len(token['text'])} characters"
                    )
                last = event.get("generated_text") is not None
                if last:
                    # Read the response to its end before handing over the last token:
                    # a caller that stops here then leaves a finished response, and the
                    # connection is reused instead of reopened on the next keystroke.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(_DRAIN_TIMEOUT_S):  # not forever
                            async for _ in events:
                                pass
                if not token.get("special", False):
                    yield token["text"]
                received += 1
                if last or received >= options.max_new_tokens:
                    return
            raise self._error(FailureKind.INCOMPLETE, "the stream ended before its last event")

    @asynccontextmanager
    async def _event_stream(
        self, prompt: str, options: GenerationOptions
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        payload = {"inputs": prompt, "parameters": options.to_tgi_parameters()}
        self._check_setup()
        try:
            async with aconnect_sse(self._http, "POST", "/generate_stream", json=payload) as source:
                if source.response.status_code != 200:
                    await source.response.aread()
                    raise self._http_error(source.response)
                yield self._decoded(source.aiter_sse())
        except httpx.TimeoutException as error:
            raise self._error(FailureKind.TIMEOUT, type(error).__name__) from error
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as error:
            raise self._error(FailureKind.UNREACHABLE, _describe(error)) from error
        except SSEError as error:
            raise self._error(FailureKind.PROTOCOL, str(error)) from error

    async def _decoded(self, events: AsyncIterator[Any]) -> AsyncIterator[dict[str, Any]]:
        async for sse in events:
            try:
                data = json.loads(sse.data)
            except ValueError as error:
                detail = f"invalid JSON event {sse.data!r:.200}"
                raise self._error(FailureKind.PROTOCOL, detail) from error
            if not isinstance(data, dict):
                raise self._error(FailureKind.PROTOCOL, f"unexpected event {sse.data!r:.200}")
            yield data

    async def _send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """One plain request; a server that cannot be reached is a ``ModelServerError``."""
        self._check_setup()
        try:
            return await self._http.request(method, path, json=body)
        except httpx.TimeoutException as error:
            raise self._error(FailureKind.TIMEOUT, type(error).__name__) from error
        except httpx.HTTPError as error:
            raise self._error(FailureKind.UNREACHABLE, _describe(error)) from error

    def _check_setup(self) -> None:
        if self._setup_error is not None:
            raise self._error(FailureKind.UNREACHABLE, self._setup_error)

    async def _get_json(self, path: str) -> dict[str, Any]:
        response = await self._send("GET", path)
        if response.status_code != 200:
            raise self._http_error(response)
        try:
            body = response.json()
        except ValueError as error:
            raise self._error(FailureKind.PROTOCOL, f"{path} is not JSON") from error
        if not isinstance(body, dict):
            raise self._error(FailureKind.PROTOCOL, f"{path} is not a JSON object")
        return body

    def _http_error(self, response: httpx.Response) -> ModelServerError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and "error" in body:
            kind = FailureKind.from_error_type(body.get("error_type"), response.status_code)
            return self._error(kind, f"HTTP {response.status_code}: {body['error']}")
        kind = FailureKind.from_error_type(None, response.status_code)
        return self._error(kind, f"HTTP {response.status_code}: {response.text[:200]}")

    def _error(self, kind: FailureKind, detail: str) -> ModelServerError:
        return ModelServerError(kind, self.base_url, detail)


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

"""``serverUrl`` alone is enough: which dialect a server speaks is found by asking it.

TGI (and Quill's own host) answer ``/info`` with a ``model_id``; Ollama answers
``/api/version``; the OpenAI-compatible servers (vLLM, llama.cpp, SGLang) answer
``/v1/models``. The ``backend`` setting skips the probe for a server that answers more than
one or none of them as expected.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Literal

import httpx

from quill.backends.base import (
    FillInMiddle,
    GenerationOptions,
    ModelServer,
    ServerInfo,
    TokenChoice,
)
from quill.backends.errors import FailureKind, ModelServerError
from quill.backends.ollama import OllamaClient
from quill.backends.openai import OpenAIClient
from quill.backends.tgi import TgiClient

Backend = Literal["auto", "tgi", "openai", "ollama"]


def connect(
    url: str, api_token: str = "", ca_bundle: str = "", backend: Backend = "auto", model: str = ""
) -> ModelServer:
    """The client for the server at ``url``; with ``auto``, one that finds the dialect
    on first use. ``model``: which of a server's models to ask (empty: its first)."""
    if backend == "tgi":
        return TgiClient(url, api_token, ca_bundle=ca_bundle)
    if backend == "openai":
        return OpenAIClient(url, api_token, ca_bundle, model)
    if backend == "ollama":
        return OllamaClient(url, api_token, ca_bundle, model)
    return DetectedServer(url, api_token, ca_bundle, model)


class DetectedServer:
    """A ``ModelServer`` that probes its server on first use and then forwards to the
    dialect found. A probe that fails (the server is down) is tried again next time."""

    def __init__(
        self, base_url: str, api_token: str = "", ca_bundle: str = "", model: str = ""
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_token = api_token
        self._ca_bundle = ca_bundle
        self._model = model
        self._server: ModelServer | None = None
        self._lock = asyncio.Lock()

    async def dialect(self) -> ModelServer:
        if self._server is not None:  # every call on the keystroke path: no lock once known
            return self._server
        async with self._lock:
            if self._server is None:
                self._server = await self._probe()
            return self._server

    async def _probe(self) -> ModelServer:
        tgi = TgiClient(self.base_url, self._api_token, ca_bundle=self._ca_bundle)
        try:
            info = await tgi.send("GET", "/info")
            if info.status_code in (401, 403):
                raise tgi.http_error(info)
            if info.status_code == 200 and _has_model_id(info.json()):
                return tgi
        except ValueError:  # /info answered, but not with JSON: not TGI
            pass
        except BaseException:
            await tgi.aclose()
            raise
        await tgi.aclose()
        ollama = OllamaClient(self.base_url, self._api_token, self._ca_bundle, self._model)
        version = await ollama.send("GET", "/api/version")
        if version.status_code == 200 and _has_version(_json_or_none(version)):
            return ollama
        await ollama.aclose()
        openai = OpenAIClient(self.base_url, self._api_token, self._ca_bundle, self._model)
        models = await openai.send("GET", "/v1/models")
        if models.status_code == 200:
            return openai
        await openai.aclose()
        if models.status_code in (401, 403):
            raise openai.http_error(models)
        raise ModelServerError(
            FailureKind.PROTOCOL,
            self.base_url,
            "it answers none of TGI's /info, Ollama's /api/version and OpenAI's /v1/models "
            "(set `backend` to say which API it speaks)",
        )

    async def info(self) -> ServerInfo:
        return await (await self.dialect()).info()

    async def tokenize(self, text: str) -> int | None:
        return await (await self.dialect()).tokenize(text)

    async def generate_stream(
        self, prompt: str, options: GenerationOptions
    ) -> AsyncGenerator[str, None]:
        server = await self.dialect()
        async with aclosing(server.generate_stream(prompt, options)) as pieces:
            async for piece in pieces:
                yield piece

    async def fill_in_middle(
        self, request: FillInMiddle, options: GenerationOptions
    ) -> AsyncGenerator[str, None]:
        server = await self.dialect()
        async with aclosing(server.fill_in_middle(request, options)) as pieces:
            async for piece in pieces:
                yield piece

    async def first_tokens(
        self, prompt: str, options: GenerationOptions, count: int
    ) -> list[TokenChoice]:
        return await (await self.dialect()).first_tokens(prompt, options, count)

    async def chat(self, messages: list[dict[str, str]], options: GenerationOptions) -> str:
        return await (await self.dialect()).chat(messages, options)

    async def health(self) -> bool:
        try:
            server = await self.dialect()
        except ModelServerError:
            return False
        return await server.health()

    async def aclose(self) -> None:
        if self._server is not None:
            await self._server.aclose()


def _has_model_id(body: object) -> bool:
    return isinstance(body, dict) and isinstance(body.get("model_id"), str)


def _has_version(body: object) -> bool:
    return isinstance(body, dict) and isinstance(body.get("version"), str)


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None

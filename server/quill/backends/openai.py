"""The OpenAI-compatible dialect: vLLM, llama.cpp's ``llama-server``, llama-cpp-python's
server, SGLang, Ollama's ``/v1``.

Completions go through ``/v1/completions`` with the raw prompt Quill lays out itself (its
fill-in-the-middle tokens included), chat through ``/v1/chat/completions``. What the
standard leaves out differs by server, so the server is recognised once (its *flavour*)
for two things: how to count tokens in its tokenizer, and the sampling defaults to undo
(llama-cpp-python penalises repeats unless told not to, which breaks greedy code).

llama.cpp's server also lays out fill-in-the-middle itself (``/infill``), with the special
tokens it reads from the model's GGUF and other files as repository context. Quill uses it
for a model whose family it cannot tell from the id (``llama-server --alias coder``), which
would otherwise get no suffix at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import attrs
import httpx

from quill.backends.base import (
    MAX_TOKEN_CHARS,
    FillInMiddle,
    GenerationOptions,
    ServerInfo,
    TokenChoice,
)
from quill.backends.errors import FailureKind
from quill.backends.http import HttpApi

_DRAIN_TIMEOUT_S = 0.2
_DONE = "[DONE]"


@attrs.frozen
class Flavour:
    """One server family's answers to what the OpenAI API does not say."""

    name: str
    tokenize_path: str | None = None
    tokenize_body: Callable[[str], dict[str, Any]] = lambda text: {}
    read_count: Callable[[dict[str, Any]], object] = lambda body: None
    sampling: dict[str, Any] = attrs.field(factory=dict)


VLLM = Flavour(
    "vLLM",
    "/tokenize",
    lambda text: {"prompt": text, "add_special_tokens": False},
    lambda body: body.get("count"),
)
LLAMA_CPP = Flavour(
    "llama.cpp",
    "/tokenize",
    lambda text: {"content": text},
    lambda body: len(tokens) if isinstance(tokens := body.get("tokens"), list) else None,
    {"cache_prompt": True},
)
LLAMA_CPP_PYTHON = Flavour(
    "llama-cpp-python",
    "/extras/tokenize/count",
    lambda text: {"input": text},
    lambda body: body.get("count"),
    {"repeat_penalty": 1.0},
)
GENERIC = Flavour("OpenAI-compatible")


def chat_payload(
    model: str, messages: list[dict[str, str]], options: GenerationOptions
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": options.max_new_tokens,
        "temperature": options.temperature,
        "stream": False,
    }
    if options.stop:
        payload["stop"] = list(options.stop)
    return payload


def chat_answer(api: HttpApi, body: dict[str, Any]) -> str:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as error:
        raise api.error(FailureKind.PROTOCOL, "not a chat completion") from error
    return str(content or "")


class OpenAIClient(HttpApi):
    """A server of the OpenAI API's ``/v1`` routes."""

    def __init__(
        self, base_url: str, api_token: str = "", ca_bundle: str = "", model: str = ""
    ) -> None:
        super().__init__(base_url, api_token, ca_bundle=ca_bundle)
        self._model = model
        self._info: ServerInfo | None = None
        self.flavour = GENERIC  # known after ``info()``

    async def info(self) -> ServerInfo:
        """The ``model`` setting's model of ``/v1/models`` (else the first), its context
        length where the server says (vLLM's ``max_model_len``, llama.cpp's ``/props``),
        and the server's flavour."""
        if self._info is not None:
            return self._info
        body = await self.get_json("/v1/models")
        models = body.get("data")
        if not isinstance(models, list) or not models or not isinstance(models[0], dict):
            raise self.error(FailureKind.PROTOCOL, "/v1/models lists no model")
        named = [m for m in models if isinstance(m, dict) and m.get("id") == self._model]
        if self._model and not named:
            listed = ", ".join(str(m.get("id")) for m in models if isinstance(m, dict))
            raise self.error(FailureKind.VALIDATION, f"no model {self._model!r}; it has {listed}")
        model = named[0] if named else models[0]
        model_id = model.get("id")
        if not isinstance(model_id, str):
            raise self.error(FailureKind.PROTOCOL, "/v1/models has a model without an id")
        self.flavour, context_length = await self._recognise()
        max_len = model.get("max_model_len", context_length)
        self._info = ServerInfo(
            model_id,
            max_input_tokens=None,
            max_total_tokens=max_len if isinstance(max_len, int) else None,
            dialect=f"openai ({self.flavour.name})",
            fills_in_middle=self.flavour is LLAMA_CPP and await self._can_infill(),
        )
        return self._info

    async def _can_infill(self) -> bool:
        """Whether llama.cpp's ``/infill`` works for its model: it answers 501 for a model
        without FIM tokens. Asked once, for no new token (a few tokens of prefill)."""
        probe = {"input_prefix": "", "input_suffix": "", "n_predict": 0, "cache_prompt": False}
        response = await self.send("POST", "/infill", probe)
        return response.status_code == 200

    async def _recognise(self) -> tuple[Flavour, int | None]:
        """Which server this is, by the routes only it has."""
        props = await self.send("GET", "/props")
        if props.status_code == 200 and isinstance(body := _json_or_none(props), dict):
            settings = body.get("default_generation_settings")
            n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
            return LLAMA_CPP, n_ctx if isinstance(n_ctx, int) else None
        version = await self.send("GET", "/version")
        body = _json_or_none(version) if version.status_code == 200 else None
        if isinstance(body, dict) and "version" in body:
            return VLLM, None
        count = await self.send("POST", "/extras/tokenize/count", {"input": ""})
        if count.status_code == 200:
            return LLAMA_CPP_PYTHON, None
        return GENERIC, None

    async def tokenize(self, text: str) -> int | None:
        await self.info()
        path = self.flavour.tokenize_path
        if path is None:
            return None
        response = await self.send("POST", path, self.flavour.tokenize_body(text))
        body = self.json_object(response, path)
        count = self.flavour.read_count(body)
        if not isinstance(count, int):
            raise self.error(FailureKind.PROTOCOL, f"{path} gave no token count")
        return count

    async def health(self) -> bool:
        """``/health`` where the server has it (vLLM, llama.cpp), else ``/v1/models``."""
        if await super().health():
            return True
        try:
            response = await self.send("GET", "/v1/models")
        except Exception:
            return False
        return response.status_code == 200

    async def chat(self, messages: list[dict[str, str]], options: GenerationOptions) -> str:
        info = await self.info()
        payload = chat_payload(info.model_id, messages, options) | self.flavour.sampling
        response = await self.send("POST", "/v1/chat/completions", payload, self.routing(options))
        return chat_answer(self, self.json_object(response, "/v1/chat/completions"))

    async def generate_stream(
        self, prompt: str, options: GenerationOptions
    ) -> AsyncGenerator[str, None]:
        """Yield the text of each streamed choice; stops the server when closed early.

        A stream that ends before a ``finish_reason`` or ``[DONE]`` was cut
        (``INCOMPLETE``); one that sends more pieces than tokens asked for is cut off.
        """
        info = await self.info()
        payload: dict[str, Any] = {
            "model": info.model_id,
            "prompt": prompt,
            "max_tokens": options.max_new_tokens,
            **self._sampling(options),
        }
        async with self.events("/v1/completions", payload, self.routing(options)) as stream:
            received = 0
            async for data in stream:
                if data.strip() == _DONE:
                    return
                text, finished = self._piece(self.decode_event(data))
                if finished:
                    await _drain(stream)  # so the connection is reused, not reopened
                if text is not None:
                    yield text
                    received += 1
                if finished or received >= options.max_new_tokens:
                    return
            raise self.error(FailureKind.INCOMPLETE, "the stream ended before its last event")

    async def first_tokens(
        self, prompt: str, options: GenerationOptions, count: int
    ) -> list[TokenChoice]:
        """``/v1/completions`` for one token with ``logprobs``: the likeliest tokens at the
        answer's first step, in the OpenAI API's shape (vLLM, llama-cpp-python) or the
        chat shape llama.cpp's server answers with."""
        info = await self.info()
        payload: dict[str, Any] = {
            "model": info.model_id,
            "prompt": prompt,
            "max_tokens": 1,
            "logprobs": count,
            **self._sampling(options),
            "stream": False,
        }
        payload.pop("stop", None)
        response = await self.send("POST", "/v1/completions", payload, self.routing(options))
        body = self.json_object(response, "/v1/completions")
        choices = body.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        logprobs = first.get("logprobs") if isinstance(first, dict) else None
        found = _top_logprobs(logprobs)
        if found is None:
            raise self.error(FailureKind.PROTOCOL, "/v1/completions sent no top logprobs")
        return sorted(found, key=lambda choice: -choice.logprob)[:count]

    async def fill_in_middle(
        self, request: FillInMiddle, options: GenerationOptions
    ) -> AsyncGenerator[str, None]:
        """llama.cpp's ``/infill``, streamed in its own (not OpenAI's) event shape:
        ``content`` pieces, the last with ``stop``."""
        info = await self.info()
        if not info.fills_in_middle:
            raise self.cannot_fill_in_middle()
        payload: dict[str, Any] = {
            "input_prefix": request.prefix,
            "input_suffix": request.suffix,
            "input_extra": [{"filename": path, "text": text} for path, text in request.files],
            "n_predict": options.max_new_tokens,
            **self._sampling(options),
        }
        async with (
            self.events("/infill", payload, self.routing(options)) as stream,
            aclosing(
                self.named_pieces(stream, "content", "stop", options.max_new_tokens)
            ) as pieces,
        ):
            async for piece in pieces:
                yield piece

    def _sampling(self, options: GenerationOptions) -> dict[str, Any]:
        """A streamed generation's sampling, as every route of this server takes it."""
        sampling: dict[str, Any] = {"temperature": options.temperature, "stream": True}
        if options.stop:
            sampling["stop"] = list(options.stop)
        if options.seed is not None:
            sampling["seed"] = options.seed
        return sampling | self.flavour.sampling

    def _piece(self, event: dict[str, Any]) -> tuple[str | None, bool]:
        """The text of one streamed event (``None`` for one without a choice, such as
        vLLM's usage event), and whether the choice is finished."""
        if "error" in event:
            raise self.error(FailureKind.GENERATION, str(event["error"])[:200])
        choices = event.get("choices")
        if not isinstance(choices, list):
            raise self.error(FailureKind.PROTOCOL, f"unexpected event {event!r:.200}")
        if not choices:
            return None, False
        choice = choices[0]
        text = choice.get("text") if isinstance(choice, dict) else None
        if not isinstance(text, str):
            raise self.error(FailureKind.PROTOCOL, f"unexpected event {event!r:.200}")
        if len(text) > MAX_TOKEN_CHARS:
            raise self.error(FailureKind.PROTOCOL, f"a token of {len(text)} characters")
        return text, choice.get("finish_reason") is not None


def _top_logprobs(logprobs: object) -> list[TokenChoice] | None:
    """The first step's top tokens of a choice's ``logprobs``: ``top_logprobs``, a list of
    text → logprob maps (the OpenAI API's completions), or ``content``, a list of tokens
    each with its ``top_logprobs`` list (its chat shape); ``None`` if neither is there."""
    if not isinstance(logprobs, dict):
        return None
    top = logprobs.get("top_logprobs")
    if isinstance(top, list) and top and isinstance(top[0], dict):
        return [
            TokenChoice(text, float(logprob))
            for text, logprob in top[0].items()
            if isinstance(logprob, int | float)
        ]
    content = logprobs.get("content")
    step = content[0] if isinstance(content, list) and content else None
    top = step.get("top_logprobs") if isinstance(step, dict) else None
    if isinstance(top, list):
        return [
            TokenChoice(token["token"], float(token["logprob"]))
            for token in top
            if isinstance(token, dict)
            and isinstance(token.get("token"), str)
            and isinstance(token.get("logprob"), int | float)
        ]
    return None


async def _drain(stream: AsyncIterator[str]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DRAIN_TIMEOUT_S):  # not forever
            async for _ in stream:
                pass


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None

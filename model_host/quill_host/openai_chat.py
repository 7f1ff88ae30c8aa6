"""OpenAI's ``/v1/chat/completions`` and ``/v1/models``, for instruct models.

Instruct models answer well only in the layout of turns they were trained on, so the
messages are rendered with the model's own chat template (`quill_host.chat_template`),
tokenized with its control tokens as control tokens, and generated through the same
scheduler and engine as ``/generate_stream``: KV-cache reuse (a conversation that grows
reuses its earlier turns), cancellation when the client goes away, and the metrics apply.

OpenAI's shapes on the wire, as on ``/v1/completions``: the stop sequence is left out of the
content, ``finish_reason`` is ``stop`` or ``length``, a stream ends with ``data: [DONE]`` and
carries ``usage`` when ``stream_options.include_usage`` asks for it. Control tokens the model
writes (turn markers) are not content, as with vLLM and TGI. Errors are TGI's
``{"error", "error_type"}`` with TGI's statuses, as TGI's own chat route answers: a model
without a chat template, or messages its template refuses, are a 422.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from quill_host.chat_template import ChatRenderer
from quill_host.engines.base import Finish, GeneratedToken
from quill_host.errors import HostError, ValidationFailed
from quill_host.http_io import CLIENT_CLOSED, ClientGone, parse_body, until_disconnected
from quill_host.metrics import HostMetrics
from quill_host.openai_chat_request import ChatCompletionRequest
from quill_host.openai_stops import finish_reason, held_back, without_stop
from quill_host.scheduler import Scheduler


def openai_models(scheduler: Scheduler, created: int) -> dict[str, Any]:
    """``/v1/models``: the one model served, by the id ``/info`` reports, with its context
    length under vLLM's name (``max_model_len``), which OpenAI-only clients read; ``created``
    is when the host loaded it."""
    engine = scheduler.engine
    model = {
        "id": engine.model_id,
        "object": "model",
        "created": created,
        "owned_by": "quill",
        "max_model_len": engine.context_size,
    }
    return {"object": "list", "data": [model]}


async def openai_chat_completions(
    request: Request, scheduler: Scheduler, metrics: HostMetrics, chat: ChatRenderer | str
) -> Response:
    """Answer one chat request; ``chat`` is the model's renderer, or why it has none."""
    if isinstance(chat, str):
        raise ValidationFailed(chat)
    body = await parse_body(request, ChatCompletionRequest)
    prompt = scheduler.engine.tokenize_rendered(chat.render(body.template_messages()))
    parameters = body.parameters()
    reply = _Reply(body, scheduler.engine.model_id)
    exits = AsyncExitStack()
    try:
        tokens = await exits.enter_async_context(scheduler.generation(prompt, parameters))
        if body.stream:
            # The first token is awaited before answering, so that a prompt too long for the
            # context is an HTTP status rather than an event in a 200 stream.
            first = await until_disconnected(request, _first(tokens))
            return EventSourceResponse(_chunks(reply, first, tokens, exits, metrics), sep="\n")
        generated = await until_disconnected(request, _all(tokens))
    except ClientGone:
        await exits.aclose()
        return Response(status_code=CLIENT_CLOSED)
    except BaseException:
        await exits.aclose()
        raise
    await exits.aclose()
    finish = generated[-1].finish
    assert finish is not None
    metrics.observe_finish(finish, len(generated))
    return JSONResponse(reply.completion(_content(generated), finish, len(generated)))


class _Reply:
    """Shapes the answers of one request (the same id and timestamp on every chunk)."""

    def __init__(self, body: ChatCompletionRequest, model_id: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model_id
        self.stops = body.stops()
        self.include_usage = body.include_usage

    def _envelope(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def completion(self, text: str, finish: Finish, generated: int) -> dict[str, Any]:
        message = {"role": "assistant", "content": without_stop(text, self.stops, finish)}
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": finish_reason(finish),
        }
        return {
            **self._envelope("chat.completion"),
            "choices": [choice],
            "usage": _usage(finish, generated),
        }

    def chunk(self, delta: dict[str, str], finish: Finish | None = None) -> dict[str, str]:
        choice = {
            "index": 0,
            "delta": delta,
            "logprobs": None,
            "finish_reason": None if finish is None else finish_reason(finish),
        }
        body = {**self._envelope("chat.completion.chunk"), "choices": [choice]}
        return {"data": json.dumps(body)}

    def usage_chunk(self, finish: Finish, generated: int) -> dict[str, str]:
        """OpenAI's last chunk under ``include_usage``: no choices, the request's usage."""
        body = {
            **self._envelope("chat.completion.chunk"),
            "choices": [],
            "usage": _usage(finish, generated),
        }
        return {"data": json.dumps(body)}


async def _first(tokens: AsyncIterator[GeneratedToken]) -> GeneratedToken:
    first = await anext(tokens, None)
    if first is None:
        raise HostError("generation ended before its first token")
    return first


async def _all(tokens: AsyncIterator[GeneratedToken]) -> list[GeneratedToken]:
    generated = [token async for token in tokens]
    if not generated or generated[-1].finish is None:
        raise HostError("generation ended before its last token")
    return generated


def _content(tokens: list[GeneratedToken]) -> str:
    """The answer's text: control tokens (turn markers) are not content."""
    return "".join(token.text for token in tokens if not token.special)


def _usage(finish: Finish, generated: int) -> dict[str, Any]:
    return {
        "prompt_tokens": finish.input_length,
        "completion_tokens": generated,
        "total_tokens": finish.input_length + generated,
        "prompt_tokens_details": {"cached_tokens": finish.reused_prompt_tokens},
    }


async def _chunks(
    reply: _Reply,
    first: GeneratedToken,
    rest: AsyncIterator[GeneratedToken],
    exits: AsyncExitStack,
    metrics: HostMetrics,
) -> AsyncIterator[dict[str, str]]:
    """The stream's chunks; leaving (done, failed or disconnected) stops the generation.

    Text that may be the start of a stop sequence is held back until the next token shows
    whether it is one."""
    async with exits:
        yield reply.chunk({"role": "assistant", "content": ""})
        pending, generated = "", 0
        token: GeneratedToken | None = first
        try:
            while token is not None:
                generated += 1
                pending += _content([token])
                if token.finish is not None:
                    metrics.observe_finish(token.finish, generated)
                    text = without_stop(pending, reply.stops, token.finish)
                    if text:
                        yield reply.chunk({"content": text})
                    yield reply.chunk({}, token.finish)
                    if reply.include_usage:
                        yield reply.usage_chunk(token.finish, generated)
                    break
                held = held_back(pending, reply.stops)
                if len(pending) > held:
                    cut = len(pending) - held
                    yield reply.chunk({"content": pending[:cut]})
                    pending = pending[cut:]
                token = await anext(rest, None)
            else:
                raise HostError("generation ended before its last token")
        except HostError as error:
            yield {"data": error.body().model_dump_json()}
        yield {"data": "[DONE]"}

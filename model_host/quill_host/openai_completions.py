"""OpenAI's ``/v1/completions``, for clients that speak only that protocol.

Same scheduler and engine as the TGI routes, OpenAI's shapes on the wire: the stop sequence
is left out of the text (TGI keeps it), ``finish_reason`` is ``stop`` or ``length``, errors
are ``{"error": {"message", "type"}}``, a stream ends with ``data: [DONE]``, and
``usage.prompt_tokens_details.cached_tokens`` says how much of the prompt the KV cache served.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from quill_host.engines.base import Finish, GeneratedToken
from quill_host.error_types import ErrorType
from quill_host.errors import HostError, ValidationFailed
from quill_host.http_io import CLIENT_CLOSED, ClientGone, parse_body, until_disconnected
from quill_host.metrics import HostMetrics
from quill_host.openai_stops import finish_reason, held_back, without_stop
from quill_host.protocol import GenerateParameters
from quill_host.scheduler import Scheduler


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    model: str | None = None
    prompt: str | list[str]
    max_tokens: int = Field(default=16, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=0, lt=2**32)
    stream: bool = False
    echo: bool = False
    n: int = Field(default=1, ge=1, le=1)

    def prompt_text(self) -> str:
        if isinstance(self.prompt, str):
            return self.prompt
        if len(self.prompt) != 1:
            raise ValidationFailed("prompt: exactly one prompt is supported")
        return self.prompt[0]

    def stops(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])

    def parameters(self) -> GenerateParameters:
        """OpenAI samples unless temperature is 0 (its default temperature is 1)."""
        sampling = self.temperature is None or self.temperature > 0
        return GenerateParameters(
            max_new_tokens=self.max_tokens,
            do_sample=sampling,
            temperature=self.temperature if sampling and self.temperature != 1.0 else None,
            top_p=self.top_p if self.top_p is not None and self.top_p < 1.0 else None,
            stop=self.stops(),
            seed=self.seed,
        )


async def openai_completions(
    request: Request, scheduler: Scheduler, metrics: HostMetrics
) -> Response:
    try:
        body = await parse_body(request, CompletionRequest)
        prompt, parameters = body.prompt_text(), body.parameters()
        exits = AsyncExitStack()
        tokens = await exits.enter_async_context(scheduler.generation(prompt, parameters))
    except HostError as error:
        return _error_response(error)
    reply = _Reply(body, scheduler.engine.model_id)
    if body.stream:
        return EventSourceResponse(_chunks(reply, tokens, exits, metrics), sep="\n")
    try:
        async with exits:
            generated = await until_disconnected(request, _collect(tokens))
    except ClientGone:
        return Response(status_code=CLIENT_CLOSED)
    except HostError as error:
        return _error_response(error)
    finish = generated[-1].finish
    assert finish is not None
    metrics.observe_finish(finish, len(generated))
    text = reply.visible("".join(token.text for token in generated), finish)
    return JSONResponse(reply.chunk(prompt + text if body.echo else text, finish, len(generated)))


class _Reply:
    """Shapes answers of one request (same id and timestamp on every chunk)."""

    def __init__(self, body: CompletionRequest, model_id: str) -> None:
        self.id = f"cmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model_id
        self.stops = body.stops()

    def visible(self, text: str, finish: Finish | None) -> str:
        """Text without the stop sequence that ended it."""
        return without_stop(text, self.stops, finish)

    def chunk(self, text: str, finish: Finish | None, generated: int) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "text": text,
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": None if finish is None else finish_reason(finish),
                }
            ],
        }
        if finish is not None:
            answer["usage"] = {
                "prompt_tokens": finish.input_length,
                "completion_tokens": generated,
                "total_tokens": finish.input_length + generated,
                "prompt_tokens_details": {"cached_tokens": finish.reused_prompt_tokens},
            }
        return answer


async def _collect(tokens: AsyncIterator[GeneratedToken]) -> list[GeneratedToken]:
    generated = [token async for token in tokens]
    if not generated or generated[-1].finish is None:
        raise HostError("generation ended before its last token")
    return generated


async def _chunks(
    reply: _Reply,
    tokens: AsyncIterator[GeneratedToken],
    exits: AsyncExitStack,
    metrics: HostMetrics,
) -> AsyncIterator[dict[str, str]]:
    """Stream chunks, holding back text that may be the start of a stop sequence."""
    async with exits:
        pending, generated = "", 0
        try:
            async for token in tokens:
                generated += 1
                pending += token.text
                if token.finish is not None:
                    metrics.observe_finish(token.finish, generated)
                    text = reply.visible(pending, token.finish)
                    yield {"data": json.dumps(reply.chunk(text, token.finish, generated))}
                    break
                held = held_back(pending, reply.stops)
                if len(pending) > held:
                    piece, pending = pending[: len(pending) - held], pending[len(pending) - held :]
                    yield {"data": json.dumps(reply.chunk(piece, None, generated))}
        except HostError as error:
            yield {"data": json.dumps(_error_body(error))}
        yield {"data": "[DONE]"}


_OPENAI_STATUS = {ErrorType.VALIDATION: 400, ErrorType.OVERLOADED: 429}


def _error_body(error: HostError) -> dict[str, Any]:
    body = error.body()
    kind = "invalid_request_error" if body.error_type is ErrorType.VALIDATION else "server_error"
    return {"error": {"message": body.error, "type": kind, "code": body.error_type.value}}


def _error_response(error: HostError) -> Response:
    status = _OPENAI_STATUS.get(error.body().error_type, 500)
    return JSONResponse(_error_body(error), status_code=status)

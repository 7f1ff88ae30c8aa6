"""The TGI HTTP routes, thin: parse → scheduler → TGI-shaped answer (and OpenAI's routes).

Every failure leaves as TGI's `{"error", "error_type"}` with the matching status; bad input is a
422, never a 500 or a traceback. A client that goes away stops its generation: streams through
sse-starlette's disconnect handling, `/generate` through a watcher on the ASGI channel.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quill_host import __version__
from quill_host.auth import BearerTokenMiddleware
from quill_host.chat_template import compile_chat_template
from quill_host.engines.base import GeneratedToken, TopToken
from quill_host.error_types import ErrorType, http_status
from quill_host.errors import HostError
from quill_host.http_io import CLIENT_CLOSED, ClientGone, parse_body, until_disconnected
from quill_host.metrics import HostMetrics, RequestMetricsMiddleware
from quill_host.openai_chat import openai_chat_completions, openai_models
from quill_host.openai_completions import openai_completions
from quill_host.protocol import (
    Details,
    ErrorBody,
    GenerateDetails,
    GenerateRequest,
    GenerateResponse,
    Info,
    StreamResponse,
    Token,
    TokenizeRequest,
)
from quill_host.scheduler import Scheduler

_log = logging.getLogger(__name__)


def create_app(scheduler: Scheduler, api_token: str | None = None) -> Starlette:
    """The TGI-compatible application around `scheduler` (and its engine)."""
    engine = scheduler.engine
    metrics = HostMetrics(scheduler)
    chat = compile_chat_template(engine.chat_template, engine.model_id)
    loaded = int(time.time())

    async def generate(request: Request) -> Response:
        body = await parse_body(request, GenerateRequest)
        if body.stream:
            return await _stream(request, scheduler, metrics, body)
        try:
            answer = await until_disconnected(request, _complete(scheduler, metrics, body))
        except ClientGone:
            return Response(status_code=CLIENT_CLOSED)
        return JSONResponse([_generate_json(answer)])

    async def generate_once(request: Request) -> Response:
        body = await parse_body(request, GenerateRequest)
        try:
            answer = await until_disconnected(request, _complete(scheduler, metrics, body))
        except ClientGone:
            return Response(status_code=CLIENT_CLOSED)
        return JSONResponse(_generate_json(answer))

    async def generate_stream(request: Request) -> Response:
        return await _stream(
            request, scheduler, metrics, await parse_body(request, GenerateRequest)
        )

    async def tokenize(request: Request) -> Response:
        body = await parse_body(request, TokenizeRequest)
        # Here on the loop, beside a running generation, not queued behind it in the worker:
        # engines keep tokenizing safe for that (see `quill_host.engines.base`).
        spans = engine.token_spans(body.inputs)
        return JSONResponse([span.model_dump() for span in spans])

    async def info(_: Request) -> Response:
        return JSONResponse(
            Info(
                model_id=engine.model_id,
                model_dtype=engine.dtype,
                model_device_type=engine.device_type,
                max_concurrent_requests=scheduler.max_concurrent_requests,
                max_input_tokens=engine.context_size - 1,
                max_total_tokens=engine.context_size,
                fill_in_middle=markers.as_json() if (markers := engine.fim_markers) else None,
                version=__version__,
            ).model_dump()
        )

    async def prometheus(_: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    async def completions(request: Request) -> Response:
        return await openai_completions(request, scheduler, metrics)

    async def chat_completions(request: Request) -> Response:
        return await openai_chat_completions(request, scheduler, metrics, chat)

    async def models(_: Request) -> Response:
        return JSONResponse(openai_models(scheduler, loaded))

    async def health(_: Request) -> Response:
        # The model is loaded before the socket is bound, so answering at all means ready.
        return Response(status_code=200)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        scheduler.close()

    routes = [
        Route("/", generate, methods=["POST"]),
        Route("/generate", generate_once, methods=["POST"]),
        Route("/generate_stream", generate_stream, methods=["POST"]),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/tokenize", tokenize, methods=["POST"]),
        Route("/info", info, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HostError: _host_error,
            HTTPException: _routing_error,
            Exception: _unexpected_error,
        },
        lifespan=lifespan,
    )
    if api_token:
        app.add_middleware(BearerTokenMiddleware, token=api_token)
    app.add_middleware(
        RequestMetricsMiddleware,
        metrics=metrics,
        routes=frozenset(route.path for route in routes),
    )
    return app


async def _complete(
    scheduler: Scheduler, metrics: HostMetrics, body: GenerateRequest
) -> GenerateResponse:
    """Run one request to the end and shape it like TGI's `/generate`."""
    tokens: list[GeneratedToken] = []
    async with scheduler.generation(body.inputs, body.parameters) as stream:
        async for token in stream:
            tokens.append(token)
    if not tokens or tokens[-1].finish is None:
        raise HostError("generation ended before its last token")
    metrics.observe_finish(tokens[-1].finish, len(tokens))
    text = "".join(token.text for token in tokens)
    if body.parameters.return_full_text:
        text = body.inputs + text
    details = None
    if body.parameters.details:
        details = GenerateDetails(
            **_details(tokens[-1], len(tokens)).model_dump(),
            tokens=[_wire_token(token) for token in tokens],
            top_tokens=[_top_tokens(token) for token in tokens if token.top],
        )
    return GenerateResponse(generated_text=text, details=details)


async def _stream(
    request: Request, scheduler: Scheduler, metrics: HostMetrics, body: GenerateRequest
) -> Response:
    """Start a stream; failures before the first token are HTTP errors, later ones SSE events."""
    exits = AsyncExitStack()
    try:
        tokens = await exits.enter_async_context(scheduler.generation(body.inputs, body.parameters))
        first = await until_disconnected(request, anext(tokens))
    except ClientGone:
        await exits.aclose()
        return Response(status_code=CLIENT_CLOSED)
    except BaseException:
        await exits.aclose()
        raise
    return EventSourceResponse(_events(body, metrics, first, tokens, exits), sep="\n")


async def _events(
    body: GenerateRequest,
    metrics: HostMetrics,
    first: GeneratedToken,
    rest: AsyncIterator[GeneratedToken],
    exits: AsyncExitStack,
) -> AsyncIterator[dict[str, str]]:
    """TGI's SSE events; leaving (done, failed or disconnected) stops the generation."""
    async with exits:
        texts: list[str] = []
        index = 0
        try:
            token: GeneratedToken | None = first
            while token is not None:
                index += 1
                texts.append(token.text)
                event = StreamResponse(index=index, token=_wire_token(token))
                if token.top:
                    event.top_tokens = _top_tokens(token)
                if token.finish is not None:
                    metrics.observe_finish(token.finish, index)
                    prefix = body.inputs if body.parameters.return_full_text else ""
                    event.generated_text = prefix + "".join(texts)
                    event.details = _details(token, index)
                yield {"data": event.model_dump_json()}
                token = None if token.finish else await anext(rest, None)
        except HostError as error:
            yield {"data": error.body().model_dump_json()}


def _generate_json(answer: GenerateResponse) -> dict[str, object]:
    """TGI leaves `details` out unless asked for, and `top_tokens` unless asked for; inside
    details, nulls stay (`seed`)."""
    shaped = answer.model_dump(mode="json")
    if shaped["details"] is None:
        del shaped["details"]
    elif not shaped["details"]["top_tokens"]:
        del shaped["details"]["top_tokens"]
    return shaped


def _wire_token(token: GeneratedToken | TopToken) -> Token:
    return Token(id=token.id, text=token.text, logprob=token.logprob, special=token.special)


def _top_tokens(token: GeneratedToken) -> list[Token]:
    return [_wire_token(top) for top in token.top]


def _details(last: GeneratedToken, generated: int) -> Details:
    finish = last.finish
    if finish is None:
        raise HostError("generation ended before its last token")
    return Details(
        finish_reason=finish.reason,
        generated_tokens=generated,
        seed=finish.seed,
        input_length=finish.input_length,
        reused_prompt_tokens=finish.reused_prompt_tokens,
    )


async def _host_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, HostError)
    body = error.body()
    return JSONResponse(body.model_dump(mode="json"), status_code=http_status(body.error_type))


async def _routing_error(_: Request, error: Exception) -> Response:
    """Unknown routes and wrong methods answer in the same JSON shape as every other error."""
    assert isinstance(error, HTTPException)
    body = ErrorBody(error=str(error.detail), error_type=ErrorType.VALIDATION)
    return JSONResponse(body.model_dump(mode="json"), status_code=error.status_code)


async def _unexpected_error(_: Request, error: Exception) -> Response:
    _log.exception("unexpected failure", exc_info=error)
    body = ErrorBody(
        error=f"{type(error).__name__}: {error}", error_type=ErrorType.INCOMPLETE_GENERATION
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=500)

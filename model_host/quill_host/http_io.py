"""Request plumbing shared by the TGI and OpenAI routes: bodies and disconnects."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import Receive

from quill_host.errors import ValidationFailed

_Model = TypeVar("_Model", bound=BaseModel)
_T = TypeVar("_T")

CLIENT_CLOSED = 499
"""nginx's status for a request the client abandoned; nobody reads it, the logs do."""


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


async def parse_body(request: Request, model: type[_Model]) -> _Model:
    """Read and validate a JSON body; any problem is the client's, so a 422."""
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise ValidationFailed(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    """One line per problem, naming the field the way a client wrote it."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"])
        problems.append(f"{where}: {item['msg']}" if where else str(item["msg"]))
    return "; ".join(problems) or "invalid request"


async def until_disconnected(request: Request, work: Awaitable[_T]) -> _T:
    """Await `work`, but cancel it and raise `_ClientGone` if the client hangs up first."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        raise ClientGone
    return task.result()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass

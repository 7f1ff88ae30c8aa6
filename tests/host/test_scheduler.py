"""The scheduler's turn-taking with a fake engine: only the faults are faked, not the model."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from quill_host.engines.base import Engine, Finish, GeneratedToken, StopCheck
from quill_host.errors import Overloaded, ValidationFailed
from quill_host.protocol import GenerateParameters
from quill_host.scheduler import Scheduler


class SlowEngine(Engine):
    """Yields one token every 10 ms until told to stop or `max_new_tokens` is reached."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.threads: set[int] = set()

    model_id = "slow"  # type: ignore[assignment]
    context_size = 64  # type: ignore[assignment]
    dtype = "none"  # type: ignore[assignment]

    def tokenize(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def token_piece(self, token: int) -> bytes:
        return chr(token).encode()

    def is_special(self, token: int) -> bool:
        return False

    def generate(
        self, prompt: str, params: GenerateParameters, should_stop: StopCheck
    ) -> Iterator[GeneratedToken]:
        self.threads.add(threading.get_ident())
        if prompt == "invalid":
            raise ValidationFailed("bad prompt")
        count = params.max_new_tokens or 1
        try:
            for index in range(count):
                if should_stop():
                    return
                time.sleep(0.01)
                last = index == count - 1
                finish = Finish("length", None, len(prompt), 0) if last else None
                yield GeneratedToken(120, "x", 0.0, False, finish)
        finally:
            self.stopped.set()


async def _collect(scheduler: Scheduler, prompt: str, tokens: int) -> str:
    params = GenerateParameters(max_new_tokens=tokens)
    async with scheduler.generation(prompt, params) as stream:
        return "".join([token.text async for token in stream])


async def _settled(scheduler: Scheduler) -> float | None:
    """Idle time once the worker has handed its slot back (that happens just after the end)."""
    for _ in range(100):
        if (idle := scheduler.idle_seconds()) is not None:
            return idle
        await asyncio.sleep(0.01)
    return None


async def test_requests_take_turns_and_all_finish() -> None:
    engine = SlowEngine()
    scheduler = Scheduler(engine, max_queue=4)
    results = await asyncio.gather(*(_collect(scheduler, "p", 3) for _ in range(5)))
    assert results == ["xxx"] * 5
    assert len(engine.threads) == 1
    assert await _settled(scheduler) is not None


async def test_queue_beyond_its_bound_is_overloaded() -> None:
    scheduler = Scheduler(SlowEngine(), max_queue=1)
    running = asyncio.create_task(_collect(scheduler, "p", 20))
    waiting = asyncio.create_task(_collect(scheduler, "p", 1))
    await asyncio.sleep(0.02)
    with pytest.raises(Overloaded):
        await _collect(scheduler, "p", 1)
    assert await running == "x" * 20
    assert await waiting == "x"


async def test_cancelled_consumer_stops_the_engine_and_frees_the_slot() -> None:
    engine = SlowEngine()
    scheduler = Scheduler(engine, max_queue=0)
    task = asyncio.create_task(_collect(scheduler, "p", 10_000))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    started = time.monotonic()
    assert await _collect(scheduler, "p", 1) == "x"
    assert time.monotonic() - started < 1.0
    assert engine.stopped.is_set()
    assert await _settled(scheduler) is not None


async def test_engine_errors_reach_the_caller() -> None:
    scheduler = Scheduler(SlowEngine())
    with pytest.raises(ValidationFailed):
        await _collect(scheduler, "invalid", 1)
    assert await _collect(scheduler, "p", 2) == "xx"

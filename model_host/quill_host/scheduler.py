"""One generation at a time per engine, a bounded line of waiters, and prompt cancellation.

Generating is blocking and not thread-safe (it drives the model's one KV cache), so every
`generate` runs in a single worker thread and requests take turns. Tokenizing is not queued
there: `/tokenize` calls the engine's tokenizer on the event loop, beside a running generation,
which engines allow (see `quill_host.engines.base`); queued behind a generation, a token count
would wait for the whole answer.

Tokens cross from the worker to the event loop through an asyncio queue. The asyncio side never
waits for the engine to notice a cancellation: leaving `generation()` (client gone, task
cancelled) sets a flag the engine checks before every token, and the slot is released by the
worker thread's completion itself, so the next request starts as soon as the engine has really
stopped and no exit path can leak the slot.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from quill_host.engines.base import Engine, GeneratedToken, Prompt
from quill_host.errors import GenerationFailed, HostError, Overloaded
from quill_host.protocol import GenerateParameters

_Item = GeneratedToken | HostError | None
"""What the worker sends: a token, the failure that ended it, or None when it is done."""


class Scheduler:
    """Serialises the generations of many concurrent HTTP requests on one engine."""

    def __init__(self, engine: Engine, max_queue: int = 16) -> None:
        self._engine = engine
        self._max_queue = max_queue
        self._slot = asyncio.Semaphore(1)
        self._waiting = 0
        self._active = 0
        self._draining = False
        self._last_activity = time.monotonic()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quill-engine")

    @property
    def engine(self) -> Engine:
        """The engine whose turns this scheduler hands out."""
        return self._engine

    @property
    def max_concurrent_requests(self) -> int:
        """Requests accepted at once (one running plus the line), as TGI's `/info` reports."""
        return 1 + self._max_queue

    @property
    def waiting(self) -> int:
        """Requests waiting for their turn."""
        return self._waiting

    def idle_seconds(self) -> float | None:
        """Seconds since the last request ended, or None while any request is in or waiting."""
        if self._active or self._waiting:
            return None
        return time.monotonic() - self._last_activity

    @asynccontextmanager
    async def generation(
        self, prompt: Prompt, params: GenerateParameters
    ) -> AsyncIterator[AsyncIterator[GeneratedToken]]:
        """Wait for the engine (or raise `Overloaded`), then stream the tokens of one request.

        Leaving the block, for any reason, stops the engine at its next token.
        """
        self._active += 1
        try:
            await self._take_turn()
        except BaseException:
            self._finished()
            raise
        stop = threading.Event()
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        try:
            worker = loop.run_in_executor(
                self._executor, self._work, prompt, params, stop, queue, loop
            )
        except BaseException:
            self._release()
            raise
        worker.add_done_callback(lambda _: self._release())
        try:
            yield _drain(queue)
        finally:
            stop.set()
            self._draining = not worker.done()

    async def _take_turn(self) -> None:
        # A generation whose client has left only has its current token to finish; a request
        # arriving meanwhile waits for it instead of being refused.
        room = self._max_queue + (1 if self._draining else 0)
        if self._slot.locked() and self._waiting >= room:
            raise Overloaded(f"Model is overloaded: {self._waiting} requests are already waiting")
        self._waiting += 1
        try:
            await self._slot.acquire()
        finally:
            self._waiting -= 1

    def _release(self) -> None:
        self._draining = False
        self._slot.release()
        self._finished()

    def _finished(self) -> None:
        self._active -= 1
        self._last_activity = time.monotonic()

    def _work(
        self,
        prompt: Prompt,
        params: GenerateParameters,
        stop: threading.Event,
        queue: asyncio.Queue[_Item],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        """Runs in the worker thread: drive the engine, hand every result to the loop."""

        def send(item: _Item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # The loop is closed: nobody is listening any more.
                stop.set()

        try:
            for token in self._engine.generate(prompt, params, stop.is_set):
                send(token)
                if stop.is_set():
                    break
        except HostError as error:
            send(error)
        except Exception as error:
            send(GenerationFailed(f"{type(error).__name__}: {error}"))
        finally:
            send(None)

    def close(self) -> None:
        """Stop accepting work; a running generation finishes its current token first."""
        self._executor.shutdown(wait=False, cancel_futures=True)


async def _drain(queue: asyncio.Queue[_Item]) -> AsyncIterator[GeneratedToken]:
    """The tokens of one generation, ending after its last; the worker's failure is raised."""
    while True:
        item = await queue.get()
        if item is None:
            return
        if isinstance(item, HostError):
            raise item
        yield item
        if item.finish is not None:
            return

"""Reading a model's answer: a stream ended by a stop sequence or a time budget, and the
code of a chat model's fenced block. Completions and code actions read answers alike."""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing

from quill.backends.base import GenerationOptions, ModelServer

# TGI's default ``max_stop_sequences``; more would be refused with a 422.
MAX_STOP_SEQUENCES = 4

_FENCED = re.compile(r"```[\w+-]*[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


async def generate_lines(
    stream: AsyncGenerator[str, None],
    stops: tuple[str, ...],
    budget_s: float,
    cut_line: bool = False,
) -> str:
    """The streamed answer, ended by a stop sequence or by the time budget: once
    ``budget_s`` is spent (counted from the request, prefill included), the answer is
    the complete lines generated so far and the stream is closed, so the model stops.

    A block is not paid for up front: its first lines arrive within the budget, and the
    rest comes with the next suggestion. Its first line is always finished, as the start
    of a statement is rarely a suggestion. With ``cut_line`` (the rest of a line, typed
    into), a line still being written is cut after its last finished item instead: a
    long line (a list, a call with many arguments) would otherwise hold the suggestion
    for a second, and its rest comes with the next suggestion too.
    """
    async with aclosing(LineReader(stream, stops, cut_line)) as reader:
        return await reader.read(budget_s)


class LineReader:
    """A streamed answer read a budget at a time (see ``generate_lines``): what one read
    leaves (the line being written when its budget ran out) begins the next. Between
    reads the stream stays open and the model goes on writing, so the next lines cost
    no new request: the suggestion after an accepted one is read on from here.
    """

    def __init__(
        self, stream: AsyncGenerator[str, None], stops: tuple[str, ...], cut_line: bool
    ) -> None:
        self._stream = stream
        self._stops = stops
        self._cut_line = cut_line
        self._pending = ""  # read, not yet handed out
        self.ended = False  # by a stop sequence, or the stream's end

    async def read(self, budget_s: float, wanted: Callable[[], bool] = lambda: False) -> str:
        """The next complete lines once ``budget_s`` is spent (from now), or all that is
        left of the answer where it ends first. Once ``wanted()`` (checked at each token:
        the user waits for this answer now), the budget counts as spent."""
        started = time.perf_counter()
        if not self.ended:
            async for token in self._stream:
                self._pending += token
                if any(stop in self._pending for stop in self._stops):
                    break
                spent = wanted() or time.perf_counter() - started >= budget_s
                if spent and (end := lines_end(self._pending, self._cut_line)):
                    taken, self._pending = self._pending[:end], self._pending[end:]
                    return taken
            self.ended = True
        taken, self._pending = self._pending, ""
        return taken

    async def aclose(self) -> None:
        """Close the stream: the server stops writing."""
        self.ended = True
        await self._stream.aclose()


PARTIAL_LINE_MIN_CHARS = 8
"""The least a first line cut at the budget shows: less is not worth a glance."""

# The end of a finished item: a separator or a closer, with the space after it.
_ITEM_END = re.compile(r"[,;)\]}]\s*")


def lines_end(text: str, cut_line: bool = False) -> int:
    """Where the answer can end at the budget: after its complete lines, or with
    ``cut_line`` while none is complete, after the line's last finished item outside a
    string (0: not yet)."""
    end = text.rfind("\n")
    if end > 0 and text[:end].strip():
        return end
    if end != -1 or not cut_line:
        return 0
    ends = [match.end() for match in _ITEM_END.finditer(text)]
    cut = ends[-1] if ends else 0
    head = text[:cut]
    if len(head.strip()) < PARTIAL_LINE_MIN_CHARS or head.count('"') % 2 or head.count("'") % 2:
        return 0
    return cut


async def generate_until_stop(
    client: ModelServer, prompt: str, options: GenerationOptions, stops: tuple[str, ...]
) -> str:
    """The streamed answer, closed as soon as a stop sequence shows: servers that ignore
    some stops (or get only the first four) must not keep generating for nothing."""
    return await generate_lines(client.generate_stream(prompt, options), stops, math.inf)


def fenced_code(answer: str) -> str:
    """The code of the answer's first fenced block (to its end, if the answer was cut
    inside it); the whole answer where it has none."""
    match = _FENCED.search(answer)
    return match.group(1) if match else answer

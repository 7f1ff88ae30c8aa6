"""A streamed answer read a time budget at a time (``LineReader``): each read hands out
complete lines, the line being written begins the next read, and the stream stays open
between reads. The stream here is scripted, a token every few milliseconds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from quill.backends.answers import LineReader

LINES = ["    13,\n", "    14,\n", "    15,\n", "    16,\n"]


class Stream:
    """Tokens of ``LINES`` (two a line), one every ``interval_s``; notes its closing."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.sent = 0
        self.closed = False

    async def tokens(self) -> AsyncGenerator[str, None]:
        try:
            for line in LINES:
                for token in (line[:6], line[6:]):
                    await asyncio.sleep(self.interval_s)
                    self.sent += 1
                    yield token
        finally:
            self.closed = True


async def test_each_read_hands_out_complete_lines_and_the_next_goes_on_from_there() -> None:
    stream = Stream()
    reader = LineReader(stream.tokens(), ("\n\n",), cut_line=False)
    first = await reader.read(0)  # the budget spent at once: the first complete line
    assert first == "    13,"
    assert not stream.closed  # open between reads: the server goes on writing
    second = await reader.read(0)
    assert first + second == "    13,\n    14,"
    rest = await reader.read(10)  # to the end
    assert first + second + rest == "".join(LINES)
    assert reader.ended


async def test_a_stop_sequence_ends_the_answer_and_closing_stops_the_stream() -> None:
    stream = Stream()
    reader = LineReader(stream.tokens(), ("15",), cut_line=False)
    assert await reader.read(10) == "    13,\n    14,\n    15"
    assert reader.ended
    await reader.aclose()
    assert stream.closed
    assert stream.sent == 5  # nothing read past the stop


async def test_a_wanted_read_ends_at_its_next_complete_line_not_at_its_budget() -> None:
    """A speculation the user asks for (``wanted``) answers with the lines it has: here
    the first, where the budget would have waited for the whole answer."""
    stream = Stream()
    reader = LineReader(stream.tokens(), ("\n\n",), cut_line=False)
    assert await reader.read(10, wanted=lambda: stream.sent >= 1) == "    13,"
    assert not reader.ended
    await reader.aclose()
    assert stream.sent < len(LINES) * 2

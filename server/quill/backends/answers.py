"""Reading a model's answer: a stream ended by a stop sequence or a time budget, and the
code of a chat model's fenced block. Completions and code actions read answers alike."""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncGenerator
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
    text = ""
    started = time.perf_counter()
    async with aclosing(stream) as tokens:
        async for token in tokens:
            text += token
            if any(stop in text for stop in stops):
                break
            if time.perf_counter() - started >= budget_s and (end := lines_end(text, cut_line)):
                return text[:end]
    return text


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

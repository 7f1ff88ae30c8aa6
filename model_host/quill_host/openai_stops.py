"""OpenAI's stop sequences, shared by ``/v1/completions`` and ``/v1/chat/completions``.

The engines stop as TGI does: the text ends with the stop sequence that ended it. OpenAI's
answers leave it out, so it is cut off at the edge; and while streaming, text that could be
the start of a stop sequence is held back until the next token shows whether it is one, so a
client is never sent part of a stop sequence it will not get the rest of.
"""

from __future__ import annotations

from collections.abc import Sequence

from quill_host.engines.base import Finish


def without_stop(text: str, stops: Sequence[str], finish: Finish | None) -> str:
    """``text`` without the stop sequence that ended it (unchanged for any other ending)."""
    if finish is not None and finish.reason == "stop_sequence":
        for stop in stops:
            if text.endswith(stop):
                return text[: -len(stop)]
    return text


def held_back(text: str, stops: Sequence[str]) -> int:
    """Length of the longest tail of ``text`` that begins some stop sequence."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


def finish_reason(finish: Finish) -> str:
    """OpenAI's ``finish_reason``: ``length``, or ``stop`` for an end token or a stop sequence."""
    return "length" if finish.reason == "length" else "stop"

"""Token bytes → streamed text, with stop sequences applied to the text, not to token ids.

Two things make this more than `bytes.decode`: a multi-byte UTF-8 character can be split across
tokens (so a token's text may be empty and the next one carries the whole character), and a stop
sequence can span tokens or end in the middle of one. Engine-independent, so every engine stops
the same way.

Stop sequences follow TGI: the generated text *includes* the stop sequence and ends right after it.
Text that the same token carries beyond the stop sequence is dropped, so the streamed token texts
still add up exactly to `generated_text`.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Piece:
    """The text one token adds, and whether a stop sequence ended the output with it."""

    text: str
    stopped: bool


class TextAssembler:
    """Accumulates generated text token by token and watches for stop sequences."""

    def __init__(self, stop: Sequence[str]) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stop = tuple(s for s in stop if s)
        self._text = ""

    @property
    def text(self) -> str:
        """Everything generated so far (up to and including a matched stop sequence)."""
        return self._text

    def push(self, data: bytes, *, final: bool = False) -> Piece:
        """Add one token's bytes; `final` flushes an unfinished character as U+FFFD."""
        before = len(self._text)
        combined = self._text + self._decoder.decode(data, final=final)
        end = self._stop_end(combined, before)
        if end is not None:
            self._text = combined[:end]
            return Piece(self._text[before:], stopped=True)
        self._text = combined
        return Piece(combined[before:], stopped=False)

    def _stop_end(self, text: str, before: int) -> int | None:
        """Where the earliest stop sequence that ends in the new text ends, if any."""
        ends = []
        for stop in self._stop:
            found = text.find(stop, max(0, before - len(stop) + 1))
            if found >= 0:
                ends.append(found + len(stop))
        return min(ends) if ends else None

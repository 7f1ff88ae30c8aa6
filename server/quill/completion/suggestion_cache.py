"""Suggestions already made, answered again without a model call.

Two moments cost nothing in the tools people use (Copilot, Tabby, llama.vim):
- **type-through**: the user types the first characters of the ghost text on screen. The
  rest of it is still right, so it is answered at once, with no debounce and no request;
- **acceptance**: the user takes the suggestion (Tab) and the editor asks again at its end,
  or at the next line once Enter is pressed. As soon as a suggestion is shown, the next one
  is computed in the background as if it had been accepted (speculation: where its answer
  goes on, read on from it, see ``quill.completion.pipeline.Continuation``), so the
  question is answered when it comes, and typing through it works as for any suggestion.
  Asked for while still at work, it answers with the lines it has complete (``Wanted``):
  measured, the next line start after an acceptance went from 67 / 63 ms to 21 / 46 ms
  (``bench/line_starts.py --sessions 30``, tuning / held-out).

A suggestion is kept with the exact text around the cursor it was made for; it answers
only a cursor whose text is that same text with part of the suggestion typed in between.
Anything else typed makes it (and its speculation) worthless, and the speculation's model
call is cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import attrs

from quill.cursor import Cursor


@attrs.frozen
class MadeSuggestion:
    """A suggestion and the document around the cursor it was made for."""

    path: str
    language_id: str
    before: str  # the document's text before that cursor
    after: str  # and after it
    text: str

    @classmethod
    def at(cls, cursor: Cursor, text: str) -> MadeSuggestion:
        return cls(cursor.path, cursor.language_id, cursor.prefix, cursor.suffix, text)

    def accepted(self) -> Cursor:
        """Where the cursor is once this suggestion is accepted: the speculation's place."""
        before = self.before + self.text
        return Cursor(self.path, self.language_id, before + self.after, len(before))

    def covers(self, cursor: Cursor) -> bool:
        """Whether ``cursor`` is this suggestion's document with a beginning of the
        suggestion (maybe none of it, maybe all) typed at its cursor, and nothing else."""
        text, offset = cursor.text, cursor.offset
        typed_chars = offset - len(self.before)
        return (
            0 <= typed_chars <= len(self.text)
            and len(text) - offset == len(self.after)
            and text.startswith(self.before)
            and text.endswith(self.after)
            and self.text.startswith(text[len(self.before) : offset])
        )

    def rest_at(self, cursor: Cursor) -> str | None:
        """What is left to suggest at ``cursor``, if it is covered and not all typed."""
        if not self.covers(cursor) or cursor.offset - len(self.before) == len(self.text):
            return None
        return self.text[cursor.offset - len(self.before) :]


Wanted = Callable[[], bool]
"""Whether the user waits for a speculation now (they accepted, and asked again): it is
then the lines it has complete, not those its time budget would bring."""

# The suggestion at a place in a document (its key): the speculation's model call.
Compute = Callable[[str, Cursor, Wanted], Coroutine[Any, Any, str | None]]


class Speculation:
    """The next suggestion of one document, computed as if ``shown`` was accepted."""

    def __init__(
        self, key: str, shown: MadeSuggestion, compute: Compute, ended: Callable[[], None]
    ) -> None:
        self.shown = shown
        self.place = shown.accepted()
        self._wanted = False
        self._task: asyncio.Task[str | None] = asyncio.create_task(
            compute(key, self.place, lambda: self._wanted)
        )
        self._task.add_done_callback(lambda _: ended())

    @property
    def done(self) -> bool:
        return self._task.done()

    def typed_past(self, cursor: Cursor) -> str | None:
        """What was typed after the accepted place to reach ``cursor`` ("" at the place
        itself), or ``None`` if ``cursor`` is not the accepted document typed on."""
        text, offset = cursor.text, cursor.offset
        before, after = self.place.prefix, self.place.suffix
        if offset < len(before) or len(text) - offset != len(after):
            return None
        if not (text.startswith(before) and text.endswith(after)):
            return None
        return text[len(before) : offset]

    async def answer(self) -> MadeSuggestion | None:
        """The suggestion at the accepted place (waiting for it if it is still being
        computed, and hurrying it: see ``Wanted``), or ``None`` if it came out empty or
        failed."""
        self._wanted = True
        try:
            text = await asyncio.shield(self._task)
        except Exception:  # a failed speculation is only a miss: the request asks anew
            return None
        return MadeSuggestion.at(self.place, text) if text else None

    def cancel(self) -> None:
        self._task.cancel()


@attrs.define
class CacheCounts:
    """How often the cache answered (for ``quill.stats`` and the benchmarks)."""

    type_through_hits: int = 0
    speculative_hits: int = 0
    speculations_started: int = 0


class SuggestionCache:
    """Per document: the suggestion last shown, and the speculation made from it."""

    def __init__(self, compute: Compute, ended: Callable[[], None] = lambda: None) -> None:
        """``compute`` makes a speculation's suggestion; ``ended`` is called as each one
        ends, however it ends (the server is free for other work)."""
        self._compute = compute
        self._ended = ended
        self._shown: dict[str, MadeSuggestion] = {}
        self._speculations: dict[str, Speculation] = {}
        self.counts = CacheCounts()

    async def answer(self, key: str, cursor: Cursor) -> str | None:
        """The suggestion for ``cursor`` from what is known, or ``None`` to ask the model.
        A cursor that neither covers nor leads to known suggestions drops them."""
        shown = self._shown.get(key)
        if shown is not None and (rest := shown.rest_at(cursor)) is not None:
            self.counts.type_through_hits += 1
            return rest
        speculation = self._speculations.get(key)
        typed = speculation.typed_past(cursor) if speculation is not None else None
        # Accepted, and maybe a new line begun (Enter): worth waiting for a speculation
        # still at work. Past other typing, only a finished one is looked at.
        if (
            speculation is not None
            and typed is not None
            and (not typed.strip() or speculation.done)
        ):
            made = await speculation.answer()
            if made is not None and (rest := made.rest_at(cursor)) is not None:
                self.counts.speculative_hits += 1
                self.show(key, made)
                return rest
        self.forget(key)
        return None

    def show(
        self,
        key: str,
        made: MadeSuggestion,
        speculate: bool = True,
        compute: Compute | None = None,
    ) -> None:
        """``made`` is on screen now: remember it, and speculate on its acceptance (with
        ``compute`` where given, else the cache's own)."""
        self._shown[key] = made
        previous = self._speculations.pop(key, None)
        if previous is not None:
            previous.cancel()
        if made.text and speculate:
            compute = compute or self._compute
            self._speculations[key] = Speculation(key, made, compute, self._ended)
            self.counts.speculations_started += 1

    def speculating(self) -> bool:
        """Whether a speculation is still at work (in any document)."""
        return any(not speculation.done for speculation in self._speculations.values())

    def forget(self, key: str) -> None:
        """The document went elsewhere (or closed): nothing known about it holds."""
        self._shown.pop(key, None)
        speculation = self._speculations.pop(key, None)
        if speculation is not None:
            speculation.cancel()

    def close(self) -> None:
        for key in list(self._shown.keys() | self._speculations.keys()):
            self.forget(key)

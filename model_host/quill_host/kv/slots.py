"""Saved KV states of recent sequences, so switching files does not throw the cache away.

An engine computes in one live sequence. When a prompt shares much more with a sequence
computed earlier (another open file, say) than with the live one, the live sequence is
parked here and the earlier one restored: a copy of a few MB (or, for an engine whose
cache is a Python object, a swap of references) instead of seconds of prefill. Slots are
kept least-recently-used first, within a byte budget. The state is opaque to the pool.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from typing import Generic, TypeVar

from quill_host.kv.prefix import common_prefix_length

State = TypeVar("State")


@dataclass(frozen=True, slots=True)
class SavedSequence(Generic[State]):
    """The tokens of a sequence and its engine-specific KV state."""

    tokens: tuple[int, ...]
    state: State
    nbytes: int  # memory the state holds, counted against the budget


@dataclass(frozen=True, slots=True)
class Match(Generic[State]):
    saved: SavedSequence[State]
    common: int  # leading tokens the saved sequence shares with the prompt


class SlotPool(Generic[State]):
    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._slots: OrderedDict[int, SavedSequence[State]] = OrderedDict()
        self._ids = count()

    @property
    def used_bytes(self) -> int:
        return sum(saved.nbytes for saved in self._slots.values())

    def __len__(self) -> int:
        return len(self._slots)

    def park(self, tokens: Sequence[int], state: State, nbytes: int) -> None:
        """Keep a sequence, evicting the least recently used ones to stay in budget.

        A sequence larger than the whole budget is not kept at all.
        """
        if nbytes > self.budget_bytes:
            return
        saved = SavedSequence(tuple(tokens), state, nbytes)
        # An older version of the same text (most of it shared) is superseded, so editing
        # one file cannot fill the pool with its own past and push the other files out.
        for slot_id, older in list(self._slots.items()):
            if common_prefix_length(older.tokens, saved.tokens) * 2 >= len(older.tokens):
                del self._slots[slot_id]
        self._slots[next(self._ids)] = saved
        while self.used_bytes > self.budget_bytes:
            self._slots.popitem(last=False)

    def take_best(self, prompt: Sequence[int], better_than: int) -> Match[State] | None:
        """Remove and return the saved sequence sharing the longest prefix with ``prompt``,
        if that prefix is longer than ``better_than`` tokens (what the live sequence
        already offers)."""
        best_id, best_common = None, better_than
        for slot_id, saved in self._slots.items():
            common = common_prefix_length(saved.tokens, prompt)
            if common > best_common:
                best_id, best_common = slot_id, common
        if best_id is None:
            return None
        return Match(self._slots.pop(best_id), best_common)

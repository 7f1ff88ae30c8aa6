"""Chunk reuse after an edit in the middle of a prompt, as llama.cpp's ``--cache-reuse``.

Prefix reuse stops at the first changed token; after an edit in the middle of a file, the
text below the edit is usually unchanged, only at other positions. Its cached keys and
values can be moved to the new positions (RoPE is re-applied) instead of computed again.
It is an approximation: those keys and values were computed attending to the text before
the edit, not after it, so answers may differ from a cold run. Engines offer it opt-in.

A run moves back where text was deleted, and forward where text was inserted in front of
it, which is what typing does to a fill-in-the-middle prompt: the prefix grows, and the
suffix after it, unchanged, moves. The inserted tokens themselves are computed, exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from quill_host.kv.prefix import common_prefix_length

_SEED_TOKENS = 8
"""Tokens that must match before a candidate run is measured."""


@dataclass(frozen=True, slots=True)
class Chunk:
    cached_start: int  # where the run starts in the cached sequence
    prompt_start: int  # where it starts in the new prompt
    length: int

    @property
    def shift(self) -> int:
        """How far the run moves: back (negative) after a deletion, forward after an insertion."""
        return self.prompt_start - self.cached_start


def find_chunk(
    cached: Sequence[int],
    prompt: Sequence[int],
    cached_from: int,
    prompt_from: int,
    min_length: int,
    max_inserted: int = 0,
) -> Chunk | None:
    """The first run of at least ``min_length`` tokens that the prompt and the cache share,
    starting at most ``max_inserted`` tokens after ``prompt_from`` in the prompt (the text
    inserted before it) and at or after ``cached_from`` in the cache; the earliest in the
    prompt, then in the cache."""
    seeds: dict[tuple[int, ...], list[int]] = {}
    for position in range(cached_from, len(cached) - _SEED_TOKENS + 1):
        seeds.setdefault(tuple(cached[position : position + _SEED_TOKENS]), []).append(position)
    last_start = min(prompt_from + max_inserted, len(prompt) - _SEED_TOKENS)
    for prompt_at in range(prompt_from, last_start + 1):
        for position in seeds.get(tuple(prompt[prompt_at : prompt_at + _SEED_TOKENS]), ()):
            length = _SEED_TOKENS + common_prefix_length(
                cached[position + _SEED_TOKENS :], prompt[prompt_at + _SEED_TOKENS :]
            )
            if length >= min_length:
                return Chunk(position, prompt_at, length)
    return None


@dataclass(slots=True)
class Drift:
    """How far a cached sequence's moved runs have drifted from an exact computation.

    A moved run's keys and values were computed after the text that preceded it then; each
    token inserted, replaced or deleted in front of it since makes them more wrong. Runs are
    moved until ``limit`` such tokens have added up, and the next prompt computes them again.
    """

    limit: int
    exact: int = 0  # leading tokens computed after exactly the text before them
    changed: int = 0  # tokens changed in front of the first moved run since it was computed

    @property
    def drifted(self) -> bool:
        return self.changed > 0

    def allows(self, changed: int) -> bool:
        """Whether a run may move past `changed` more changed tokens."""
        return self.changed + changed <= self.limit

    def moved(self, run_start: int, changed: int) -> None:
        """A run now starting at `run_start` was moved past `changed` changed tokens."""
        self.exact = min(self.exact, run_start)
        self.changed += changed

    def computed(self, start: int, end: int) -> None:
        """The cache was cut back to `start` and computed up to `end`."""
        if start <= self.exact:
            self.exact, self.changed = end, 0

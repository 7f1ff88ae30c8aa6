"""Chunk reuse after an edit in the middle of a prompt, as llama.cpp's ``--cache-reuse``.

Prefix reuse stops at the first changed token; after an edit in the middle of a file, the
text below the edit is usually unchanged, only at other positions. Its cached keys and
values can be moved to the new positions (RoPE is re-applied) instead of computed again.
It is an approximation: those keys and values were computed attending to the text before
the edit, not after it, so answers may differ from a cold run. Engines offer it opt-in.

Only runs that move towards the start are reused (text was deleted or replaced by less):
llama.cpp requires each new token's position to follow the sequence's last one, so tokens
cannot be computed in front of a run that is already cached, which an insertion would need.
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


def find_chunk_at(
    cached: Sequence[int], prompt: Sequence[int], cached_from: int, prompt_at: int, min_length: int
) -> Chunk | None:
    """The first run of at least ``min_length`` tokens that starts at ``prompt_at`` in the
    prompt and at or after ``cached_from`` in the cache."""
    seed = list(prompt[prompt_at : prompt_at + _SEED_TOKENS])
    if len(seed) < _SEED_TOKENS:
        return None
    for position in range(cached_from, len(cached) - _SEED_TOKENS + 1):
        if list(cached[position : position + _SEED_TOKENS]) != seed:
            continue
        length = _SEED_TOKENS + common_prefix_length(
            cached[position + _SEED_TOKENS :], prompt[prompt_at + _SEED_TOKENS :]
        )
        if length >= min_length:
            return Chunk(position, prompt_at, length)
    return None

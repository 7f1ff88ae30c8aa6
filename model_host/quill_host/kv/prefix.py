"""Longest common token prefix: how much of a cached sequence a new prompt can reuse."""

from __future__ import annotations

from collections.abc import Sequence


def common_prefix_length(cached: Sequence[int], prompt: Sequence[int]) -> int:
    """Number of leading tokens ``cached`` and ``prompt`` share."""
    length = 0
    for old, new in zip(cached, prompt, strict=False):
        if old != new:
            break
        length += 1
    return length

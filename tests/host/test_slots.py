"""The slot pool on its own (no model): which sequence a prompt gets, and the budget."""

from __future__ import annotations

from quill_host.kv.prefix import common_prefix_length
from quill_host.kv.slots import SlotPool


def tokens(start: int, length: int) -> list[int]:
    return list(range(start, start + length))


def test_common_prefix() -> None:
    assert common_prefix_length([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix_length([1, 2], [1, 2, 3]) == 2
    assert common_prefix_length([], [1]) == 0


def test_the_longest_shared_prefix_wins_and_is_taken_out() -> None:
    pool: SlotPool[str] = SlotPool(budget_bytes=1000)
    pool.park(tokens(0, 100), "a", nbytes=10)
    pool.park(tokens(1000, 100), "b", nbytes=10)
    match = pool.take_best([*tokens(1000, 80), 7, 7], better_than=10)
    assert match is not None
    assert match.common == 80
    assert match.saved.state == "b"
    assert len(pool) == 1


def test_nothing_better_than_the_live_sequence() -> None:
    pool: SlotPool[str] = SlotPool(budget_bytes=1000)
    pool.park(tokens(0, 100), "a", nbytes=1)
    assert pool.take_best(tokens(0, 50), better_than=50) is None
    assert len(pool) == 1


def test_least_recently_parked_is_evicted_to_stay_in_budget() -> None:
    pool: SlotPool[str] = SlotPool(budget_bytes=25)
    for start in (0, 1000, 2000):
        pool.park(tokens(start, 10), f"from {start}", nbytes=10)
    assert len(pool) == 2
    assert pool.used_bytes == 20
    assert pool.take_best(tokens(0, 10), better_than=0) is None  # the oldest went first


def test_a_newer_version_of_the_same_text_replaces_the_older() -> None:
    pool: SlotPool[str] = SlotPool(budget_bytes=1000)
    pool.park(tokens(0, 100), "old", nbytes=1)
    pool.park([*tokens(0, 90), 5, 5, 5], "new", nbytes=1)
    assert len(pool) == 1
    match = pool.take_best(tokens(0, 100), better_than=0)
    assert match is not None
    assert match.saved.state == "new"


def test_a_sequence_larger_than_the_budget_is_not_kept() -> None:
    pool: SlotPool[str] = SlotPool(budget_bytes=5)
    pool.park(tokens(0, 10), "x", nbytes=6)
    assert len(pool) == 0

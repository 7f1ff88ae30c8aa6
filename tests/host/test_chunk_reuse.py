"""Chunk reuse after an edit in the middle of the prompt (``--cache-reuse``): text deleted,
and text inserted in front of a cached run (typing before a fill-in-the-middle suffix)."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

from quill_host.engines.llamacpp import LlamaCppEngine
from quill_host.kv.chunks import Drift, find_chunk
from quill_host.models import resolve_model
from quill_host.protocol import GenerateParameters


def test_a_run_is_found_where_the_prompt_continues() -> None:
    cached = list(range(100))
    prompt = [*range(40), *range(50, 100)]  # tokens 40..49 deleted
    chunk = find_chunk(cached, prompt, cached_from=40, prompt_from=40, min_length=16)
    assert chunk is not None
    assert (chunk.cached_start, chunk.prompt_start, chunk.length) == (50, 40, 50)
    assert chunk.shift == -10
    assert find_chunk(cached, prompt, 40, 40, min_length=51) is None


def test_a_run_is_found_after_text_inserted_in_front_of_it() -> None:
    cached = list(range(100))
    prompt = [*range(40), *range(1000, 1012), *range(38, 100)]  # 2 tokens replaced by 12
    chunk = find_chunk(cached, prompt, 38, 38, min_length=16, max_inserted=16)
    assert chunk is not None
    assert (chunk.cached_start, chunk.prompt_start, chunk.length) == (38, 52, 62)
    assert chunk.shift == 14
    assert find_chunk(cached, prompt, 38, 38, min_length=16, max_inserted=13) is None


def _mid_file_lines(count: int) -> list[str]:
    """textwrap's first 7,000 characters cut around ``count`` lines from its middle on:
    the text before them, each line, and the text after them."""
    source = Path(textwrap.__file__).read_text()[:7000]
    cuts = [source.index("\n", len(source) // 2) + 1]
    for _ in range(count):
        cuts.append(source.index("\n", cuts[-1]) + 1)
    lines = [source[start:end] for start, end in itertools.pairwise(cuts)]
    return [source[: cuts[0]], *lines, source[cuts[-1] :]]


def _engines(**options: int) -> tuple[LlamaCppEngine, LlamaCppEngine]:
    """The default model with chunk reuse (``options``), and without any cache, to compare."""
    model = resolve_model("default")
    chunky = LlamaCppEngine(model.model_id, model.path, n_ctx=4096, chunk_reuse_min=64, **options)
    cold = LlamaCppEngine(model.model_id, model.path, n_ctx=4096, prefix_cache=False)
    return chunky, cold


def _generate(engine: LlamaCppEngine, prompt: str) -> tuple[str, int, int]:
    tokens = list(engine.generate(prompt, GenerateParameters(max_new_tokens=8), lambda: False))
    finish = tokens[-1].finish
    assert finish is not None
    return "".join(t.text for t in tokens), finish.reused_prompt_tokens, finish.input_length


def test_text_after_a_deleted_line_is_reused_not_recomputed() -> None:
    chunky, cold = _engines()
    before, line, after = _mid_file_lines(1)
    edited = before + after  # one line deleted mid-file

    _generate(chunky, before + line + after)
    text, reused, prompt_tokens = _generate(chunky, edited)
    prefix_only = len(chunky.tokenize(before)) - 1
    assert reused > prefix_only + 64
    assert reused == prompt_tokens - 1
    cold_text, cold_reused, _ = _generate(cold, edited)
    assert cold_reused == 0
    assert text == cold_text  # approximate in general; on this edit the answer is the same


def test_a_typed_line_is_computed_and_the_text_after_it_moved_not_recomputed() -> None:
    """Typing in front of a suffix: the new line is computed, the suffix's cached run is
    moved forward past it; the cache then holds exactly the new prompt."""
    chunky, cold = _engines()
    before, typed, after = _mid_file_lines(1)

    _generate(chunky, before + after)
    text, reused, prompt_tokens = _generate(chunky, before + typed + after)
    typed_tokens = len(chunky.tokenize(typed))
    assert reused > len(chunky.tokenize(before)) + 64  # the run after the line was kept
    assert prompt_tokens - 1 - typed_tokens - 2 <= reused < prompt_tokens - 1
    again, reused_again, _ = _generate(chunky, before + typed + after)
    assert reused_again == prompt_tokens - 1  # every moved and computed token is in place
    assert again == text
    cold_text, _, _ = _generate(cold, before + typed + after)
    assert text == cold_text  # approximate in general; on this edit the answer is the same


def test_drift_lets_runs_move_until_the_limit_then_a_computation_resets_it() -> None:
    drift = Drift(limit=16)
    drift.computed(0, 500)
    assert not drift.drifted
    assert drift.allows(16)
    assert not drift.allows(17)
    drift.moved(run_start=310, changed=10)
    assert drift.drifted
    assert drift.exact == 310
    assert drift.allows(6)
    assert not drift.allows(7)
    drift.computed(400, 520)  # appended after the moved run: it is still there
    assert drift.drifted
    assert drift.exact == 310
    drift.computed(300, 530)  # cut back in front of it: everything is exact again
    assert not drift.drifted
    assert drift.exact == 530


def test_a_run_moved_past_too_much_typing_is_computed_again() -> None:
    """Each typed line drifts the text after it further from what it was computed after;
    past ``chunk_drift_max`` changed tokens, the next prompt computes it again."""
    before, line1, line2, after = _mid_file_lines(2)
    probe, _ = _engines()
    typed1 = len(probe.tokenize(before + line1)) - len(probe.tokenize(before))
    engine, _ = _engines(chunk_drift_max=typed1 + 2)  # room for the first line, not two
    _generate(engine, before + after)
    _, reused, _ = _generate(engine, before + line1 + after)
    assert reused > len(engine.tokenize(before)) + 64  # moved
    _, reused, _ = _generate(engine, before + line1 + line2 + after)
    assert reused <= len(engine.tokenize(before + line1))  # computed again, not moved
    line3 = "    pass\n"
    _, reused, _ = _generate(engine, before + line1 + line2 + line3 + after)
    assert reused > len(engine.tokenize(before + line1 + line2)) + 64  # exact again: moves


def test_a_file_parked_after_its_text_was_moved_comes_back_exact() -> None:
    """Another file replaces the live sequence: the moved run is not parked with it, so
    coming back restores only what was computed exactly, and the rest is computed again."""
    chunky, _ = _engines()
    before, line, after = _mid_file_lines(1)
    typed = before + line + after
    _generate(chunky, before + after)
    _, moved, _ = _generate(chunky, typed)
    assert moved > len(chunky.tokenize(before)) + 64  # the text after the line was moved
    _generate(chunky, "\n".join(reversed(typed.splitlines())))  # another file
    _, restored, _ = _generate(chunky, typed)
    exact = len(chunky.tokenize(before + line))
    assert 64 <= restored <= exact  # back from the slot pool, without the moved run

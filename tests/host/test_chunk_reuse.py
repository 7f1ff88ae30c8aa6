"""Chunk reuse after a deletion in the middle of the prompt (``--cache-reuse``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from quill_host.engines.llamacpp import LlamaCppEngine
from quill_host.kv.chunks import find_chunk_at
from quill_host.models import resolve_model
from quill_host.protocol import GenerateParameters


def test_a_run_is_found_where_the_prompt_continues() -> None:
    cached = list(range(100))
    prompt = [*range(40), *range(50, 100)]  # tokens 40..49 deleted
    chunk = find_chunk_at(cached, prompt, cached_from=40, prompt_at=40, min_length=16)
    assert chunk is not None
    assert (chunk.cached_start, chunk.prompt_start, chunk.length) == (50, 40, 50)
    assert find_chunk_at(cached, prompt, 40, 40, min_length=51) is None


def _generate(engine: LlamaCppEngine, prompt: str) -> tuple[str, int, int]:
    tokens = list(engine.generate(prompt, GenerateParameters(max_new_tokens=8), lambda: False))
    finish = tokens[-1].finish
    assert finish is not None
    return "".join(t.text for t in tokens), finish.reused_prompt_tokens, finish.input_length


def test_text_after_a_deleted_line_is_reused_not_recomputed() -> None:
    model = resolve_model("default")
    chunky = LlamaCppEngine(model.model_id, model.path, n_ctx=4096, chunk_reuse_min=64)
    cold = LlamaCppEngine(model.model_id, model.path, n_ctx=4096, prefix_cache=False)
    source = Path(textwrap.__file__).read_text()[:7000]
    line_start = source.index("\n", len(source) // 2) + 1
    line_end = source.index("\n", line_start) + 1
    edited = source[:line_start] + source[line_end:]  # one line deleted mid-file

    _generate(chunky, source)
    text, reused, prompt_tokens = _generate(chunky, edited)
    prefix_only = len(chunky.tokenize(source[:line_start])) - 1
    assert reused > prefix_only + 64
    assert reused == prompt_tokens - 1
    cold_text, cold_reused, _ = _generate(cold, edited)
    assert cold_reused == 0
    assert text == cold_text  # approximate in general; on this edit the answer is the same

"""Greedy decoding reads the largest logit itself (``SamplerChain``'s shortcut past
llama.cpp's sampler chain): it must choose what llama.cpp's own chain chooses."""

from __future__ import annotations

import textwrap
from pathlib import Path

from quill_host.engines.llamacpp import LlamaCppEngine
from quill_host.models import resolve_model
from quill_host.protocol import GenerateParameters


def _text(engine: LlamaCppEngine, prompt: str, params: GenerateParameters) -> str:
    return "".join(token.text for token in engine.generate(prompt, params, lambda: False))


def test_the_greedy_shortcut_chooses_what_llama_cpps_chain_chooses() -> None:
    model = resolve_model("default")
    engine = LlamaCppEngine(model.model_id, model.path, n_ctx=2048, prefix_cache=False)
    source = Path(textwrap.__file__).read_text()
    for start in (0, 3000, 6000):  # three prompts, each ending mid-code
        prompt = source[start : start + 1500]
        greedy = _text(engine, prompt, GenerateParameters(max_new_tokens=32))
        # Sampling from the single most likely token goes through llama.cpp's chain.
        chained = _text(engine, prompt, GenerateParameters(max_new_tokens=32, top_k=1, seed=7))
        assert greedy.strip()
        assert greedy == chained

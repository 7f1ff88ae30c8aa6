"""The transformers engine on the packaged model: load, prefill, re-prefill after an edit, decode.

Prints one table, side by side with the llama.cpp engine on the same prompt (skip it with
`--engines transformers`). The first load converts the GGUF into a temporary cache directory, so
the conversion is measured every time (skip with `--no-convert`, which uses the user cache);
the second load reads that conversion back.

    python bench/transformers_engine.py [--prompt-tokens 2000] [--decode-tokens 64]
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from quill_host.engines import EngineOptions, create_engine
from quill_host.engines.base import Engine
from quill_host.models import resolve_model
from quill_host.protocol import GenerateParameters

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "server" / "quill").rglob("*.py"))  # real code, several files' worth


def prompt_of(engine: Engine, tokens: int) -> str:
    """Real source text cut to about `tokens` tokens (at a token boundary)."""
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in SOURCES)
    spans = engine.token_spans(text[: tokens * 8])
    return text[: spans[min(tokens, len(spans)) - 1].stop]


def edited(engine: Engine, prompt: str, from_end: int) -> str:
    """`prompt` with one character inserted where its `from_end`-th last token starts."""
    spans = engine.token_spans(prompt)
    cut = spans[-from_end].start
    return prompt[:cut] + "#" + prompt[cut:]


def first_token(engine: Engine, prompt: str) -> tuple[float, int, int]:
    """Seconds to the first token, prompt tokens, tokens reused from the cache."""
    started = time.perf_counter()
    token = next(iter(engine.generate(prompt, GenerateParameters(max_new_tokens=1), lambda: False)))
    seconds = time.perf_counter() - started
    assert token.finish is not None
    return seconds, token.finish.input_length, token.finish.reused_prompt_tokens


def decode_rate(engine: Engine, prompt: str, count: int) -> float:
    """Tokens per second after the first token (greedy)."""
    params = GenerateParameters(max_new_tokens=count)
    stamps = [time.perf_counter() for _ in engine.generate(prompt, params, lambda: False)]
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")


def timed(build: Callable[[], Engine]) -> tuple[Engine, float]:
    started = time.perf_counter()
    engine = build()
    return engine, time.perf_counter() - started


def measure(name: str, args: argparse.Namespace) -> list[tuple[str, str]]:
    options = EngineOptions(model=resolve_model("default"))
    rows: list[tuple[str, str]] = []
    if name == "transformers" and args.convert:
        with tempfile.TemporaryDirectory() as scratch:
            previous = os.environ.get("QUILL_CACHE_DIR")
            os.environ["QUILL_CACHE_DIR"] = scratch
            try:
                first, seconds = timed(lambda: create_engine(name, options))
                rows.append(("first load (GGUF → converted cache)", f"{seconds:.1f} s"))
                del first
                gc.collect()
                engine, seconds = timed(lambda: create_engine(name, options))
            finally:
                if previous is None:
                    os.environ.pop("QUILL_CACHE_DIR")
                else:
                    os.environ["QUILL_CACHE_DIR"] = previous
        rows.append(("load (converted cache)", f"{seconds:.1f} s"))
    else:
        engine, seconds = timed(lambda: create_engine(name, options))
        rows.append(("load", f"{seconds:.1f} s"))
    rows.append(("dtype", engine.dtype))

    prompt = prompt_of(engine, args.prompt_tokens)
    first_token(engine, "warm-up")  # first-call overheads (thread pools, allocators)
    cold, length, _ = first_token(engine, prompt)
    rows.append((f"cold prefill ({length} tokens)", f"{cold:.2f} s"))
    edit = edited(engine, prompt, 20)
    warm, length, reused = first_token(engine, edit)
    rows.append(("re-prefill, edit 20 tokens from the end", f"{warm:.3f} s ({reused} reused)"))
    rows.append(("  cold / re-prefill", f"{cold / warm:.0f}x"))
    rate = decode_rate(engine, prompt, args.decode_tokens)
    rows.append((f"decode ({args.decode_tokens} tokens, greedy)", f"{rate:.1f} tok/s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", default="transformers,llama.cpp")
    parser.add_argument("--prompt-tokens", type=int, default=2000)
    parser.add_argument("--decode-tokens", type=int, default=64)
    parser.add_argument("--no-convert", dest="convert", action="store_false")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    names = args.engines.split(",")
    results = {name: dict(measure(name, args)) for name in names}
    labels = list(dict.fromkeys(label for rows in results.values() for label in rows))
    width = max(len(label) for label in labels)
    print(f"{'':<{width}}  " + "  ".join(f"{name:>24}" for name in names))
    for label in labels:
        cells = "  ".join(f"{results[name].get(label, '-'):>24}" for name in names)
        print(f"{label:<{width}}  {cells}")


if __name__ == "__main__":
    main()

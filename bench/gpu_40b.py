"""The target model on a real GPU: start the vLLM server ``quill launch`` plans, replay typing
sessions through ``quill serve``, and print what a team would feel.

    python bench/gpu_40b.py [--model-dir DIR] [--sessions 3] [--seed 0]
                            [--server-url URL] [--log PATH]

With no ``--model-dir`` it serves IQuest-Coder-V1-40B-Instruct with the plan ``quill launch``
makes for the GPUs ``nvidia-smi`` lists (vLLM installed here, ``pip install vllm==0.32.0``,
and the weights in the Hugging Face cache or downloadable). ``--model-dir`` serves a local
Hugging Face directory instead, for a GPU the 40B does not fit (any architecture vLLM runs;
prefix caching and chunked prefill as the plan sets them). ``--server-url`` measures a server
that is already running (on a machine without a GPU too: then there is no memory figure).

Printed, for the replayed sessions (``dialects.py``: blocks of pip's source typed back in,
a suggestion asked after each word, every answer allowed to arrive):
  time to the suggestion, cold (a session's first) and warm: p50 / p95, as the editor sees it
  reused prompt tokens: vLLM's ``vllm:prefix_cache_hits_total`` / ``queries_total``
and, from requests made straight to the server:
  time to first token: cold (a prompt it has not seen) and warm (the same prompt and one
  more word), p50 / p95 of 10
  decode tokens per second over 256 tokens, batch 1
  peak GPU memory in use (``nvidia-smi``, every 0.5 s while the benchmark ran)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench_stats import markdown_table, slash_cell
from dialects import report, run
from editing_sessions import choose_sessions
from quill_host.launcher.command import hf_hub_cache
from quill_host.launcher.facts import IQUEST_CODER_40B
from quill_host.launcher.gpus import detect_gpus
from quill_host.launcher.supervisor import health_ok
from quill_host.launcher.vllm_command import Replica, vllm_command
from quill_host.launcher.vllm_plan import plan_vllm
from recall_sources import pip_source

START_TIMEOUT_S = 3600.0  # downloading and loading 40 GB of weights
PORT = 8000
PROBE_REQUESTS = 10
DECODE_TOKENS = 256


def server_command(model_dir: Path | None, host: str = "127.0.0.1") -> tuple[str, ...]:
    """``vllm serve`` as ``quill launch`` plans it for the 40B, or for a local directory."""
    if model_dir is None:
        plan = plan_vllm(IQUEST_CODER_40B, detect_gpus())
        print(f"plan: {plan.precision}, TP {plan.tensor_parallel}; {plan.figures()}", flush=True)
        replica = Replica(tuple(range(plan.tensor_parallel)), PORT)
        hf_cache = hf_hub_cache(os.environ, Path.home())  # read by the docker form only
        return vllm_command(plan, replica, host=host, use_local=True, hf_cache=hf_cache).argv
    return (
        "vllm", "serve", str(model_dir),
        "--served-model-name", model_dir.name,
        "--enable-prefix-caching", "--enable-chunked-prefill",
        "--max-model-len", "8192",
        "--host", host, "--port", str(PORT),
    )  # fmt: skip


@contextlib.contextmanager
def started(argv: tuple[str, ...], log: Path) -> Iterator[str]:
    print(f"starting: {' '.join(argv)} (log: {log})", flush=True)
    with log.open("w") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{PORT}"
    try:
        began = time.perf_counter()
        _wait_until_healthy(url, process)
        print(f"ready in {time.perf_counter() - began:.0f} s", flush=True)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gpu_40b: the server exited with {process.returncode}")
        if health_ok(f"{url}/health", timeout=5):
            return
        time.sleep(2)
    raise SystemExit(f"gpu_40b: the server did not answer /health in {START_TIMEOUT_S:.0f} s")


class PeakMemory:
    """The most GPU memory in use, summed over the GPUs, polled from ``nvidia-smi``."""

    def __init__(self) -> None:
        self.peak_mib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> PeakMemory:
        if shutil.which("nvidia-smi"):
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _poll(self) -> None:
        query = ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"]
        while not self._stop.wait(0.5):
            done = subprocess.run(query, capture_output=True, text=True, check=False)
            used = sum(int(float(line)) for line in done.stdout.split() if line.strip())
            self.peak_mib = max(self.peak_mib, used)


def direct_probe(url: str, model: str, prompt: str) -> list[list[str]]:
    """Time to first token cold and warm, and decode speed, from raw streamed requests."""
    cold, warm = [], []
    with httpx.Client(base_url=url, timeout=600) as http:
        for index in range(PROBE_REQUESTS):
            fresh = f"# request {index} {time.time()}\n{prompt}"  # never seen: cold
            cold.append(first_token_ms(http, model, fresh, 1)[0])
            warm.append(first_token_ms(http, model, fresh + " value", 1)[0])
        first_ms, total_ms, tokens = first_token_ms(http, model, prompt, DECODE_TOKENS)
    decode = (tokens - 1) / ((total_ms - first_ms) / 1000) if tokens > 1 else float("nan")
    return [
        [f"time to first token, cold ({PROBE_REQUESTS}): p50 / p95 ms",
         slash_cell(cold, "p50", "p95")],
        [f"time to first token, warm ({PROBE_REQUESTS}): p50 / p95 ms",
         slash_cell(warm, "p50", "p95")],
        [f"decode, batch 1 ({tokens} tokens): tokens/s", f"{decode:.1f}"],
    ]  # fmt: skip


def first_token_ms(
    http: httpx.Client, model: str, prompt: str, max_tokens: int
) -> tuple[float, float, int]:
    """(ms to the first streamed token, ms to the end, tokens received)."""
    body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "stream": True,
            "temperature": 0, "ignore_eos": True}  # fmt: skip
    began = time.perf_counter()
    first = 0.0
    tokens = 0
    with http.stream("POST", "/v1/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            if json.loads(line[6:])["choices"][0].get("text"):
                tokens += 1
                first = first or (time.perf_counter() - began) * 1000
    return first, (time.perf_counter() - began) * 1000, tokens


def served_model(url: str) -> str:
    models = httpx.get(f"{url}/v1/models", timeout=30).json()["data"]
    return str(models[0]["id"])


def measure(url: str, sessions: int, seed: int, peak: PeakMemory) -> None:
    chosen = choose_sessions(pip_source(), sessions, seed)
    found = asyncio.run(run(url, chosen, {}, "word", verbose=False))
    report(found, url)
    probe_text = (Path(__file__).parent / "replay_sessions.py").read_text()[:6000]
    rows = direct_probe(url, served_model(url), probe_text)
    memory = f"{peak.peak_mib:,} MiB" if peak.peak_mib else "n/a (no nvidia-smi)"
    rows.append(["peak GPU memory in use (all GPUs)", memory])
    print()
    print(markdown_table(["straight to the server", "value"], rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="a local Hugging Face model directory")
    parser.add_argument("--server-url", help="measure this running server instead")
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", type=Path, help="the server's log (default: a temp file)")
    args = parser.parse_args()
    with PeakMemory() as peak:
        if args.server_url:
            measure(args.server_url, args.sessions, args.seed, peak)
            return 0
        if not detect_gpus():
            print("gpu_40b: no NVIDIA GPU (nvidia-smi lists none)", file=sys.stderr)
            return 2
        if shutil.which("vllm") is None:
            print("gpu_40b: vLLM is not installed: pip install vllm==0.32.0", file=sys.stderr)
            return 2
        log = args.log or Path(tempfile.mkdtemp()) / "vllm.log"
        with started(server_command(args.model_dir), log) as url:
            measure(url, args.sessions, args.seed, peak)
    return 0


if __name__ == "__main__":
    sys.exit(main())

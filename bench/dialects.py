"""One typing session through ``quill serve`` against any model server: time to the
suggestion, and how much of each prompt the server reused from its KV cache, per dialect.

Quill anchors the prompt window so that a model server's cache stays valid while you type.
Whether that pays off depends on the server: the embedded host (TGI's API) and vLLM (the
OpenAI API, automatic prefix caching) both reuse a shared prefix, llama.cpp's
``llama-server`` keeps each slot's cache (``cache_prompt``); llama-cpp-python's server keeps
one slot's cache and reports no counters. This replays the same session against each
and reports what the editor sees and what the server counted.

    python bench/dialects.py URL | --start vllm|llama-server|llama-cpp-python|embedded
                             [--sessions 1] [--seed 0] [--every word|keystroke]
                             [--setting KEY=VALUE ...] [--verbose]

A session is a block of 3 to 6 lines cut from pip's source and typed back in
(``replay_sessions.py``: the same sessions for the same ``--seed``), in a copy of pip's
package folder, indexed first. A completion is asked when the document is opened (its cache
is cold) and after each keystroke that ends a word, each awaited before the next keystroke,
with ``debounceMs`` 0 and ``deadlineMs`` 30000 so every answer arrives; ``--setting``
passes other settings as an editor does. Reported:

  time to the suggestion   from the request to its answer, as the editor sees it: the
                           first request of each session (cold) apart, p50 / p90 of the rest,
                           and of those of the rest that Quill sent on to the model (its
                           ``quill.stats`` modelCalls went up): the others were answered from
                           its own cache (type-through, speculation), whatever the server
  reused prompt tokens     from the server's ``/metrics`` before and after the warm part of
                           the session: vLLM's ``vllm:prefix_cache_hits_total`` /
                           ``vllm:prefix_cache_queries_total``, llama-server's
                           ``llamacpp:prompt_tokens_cached_total`` / (cached +
                           ``llamacpp:prompt_tokens_total``, which counts those computed),
                           the embedded host's ``quill_host_prompt_tokens_total`` reused /
                           (reused + computed).
                           Not comparable to the last digit: vLLM counts every request that
                           reached its scheduler, the host only finished generations, and
                           vLLM reuses whole blocks of 16 tokens only.

``--start`` starts the server itself (``tests/model_servers.py``: vLLM is installed and the
model converted into the user cache on first use; ``running_host.py`` for the embedded
host) and stops it afterwards. A server given by URL is measured as it is: its counters are
read as deltas, but its cache may hold earlier sessions' prompts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from lsprotocol import types
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.model_servers import SERVERS

from bench_stats import markdown_table, median, slash_cell
from editing_sessions import Session, add_session_arguments, choose_sessions, session_document
from lsp_session import (
    BenchClient,
    add_setting_argument,
    execute,
    parse_settings,
    shut_down_after,
)
from recall_sources import pip_source
from running_host import running_host
from typing_replay import close_document, open_document, type_asking

INDEX_TIMEOUT_S = 300
Counts = dict[str, float]  # "reused" and "prompt" tokens, as the server counts them
# The counter families as the parser names them (without ``_total``).
_CACHE_FAMILIES = frozenset(
    {"vllm:prefix_cache_queries", "quill_host_prompt_tokens", "llamacpp:prompt_tokens"}
)


def cache_counters(url: str) -> Counts | None:
    """Prompt tokens reused from the server's cache and all prompt tokens, from its
    ``/metrics``; ``None`` where it has no such counters (llama-cpp-python's server)."""
    try:
        response = httpx.get(f"{url}/metrics", timeout=10)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    counts: Counts = {}
    for family in text_string_to_metric_families(response.text):
        if family.name in _CACHE_FAMILIES:  # declared, if without samples until first used
            counts.setdefault("prompt", 0.0)
        for sample in family.samples:
            if sample.name == "vllm:prefix_cache_hits_total":
                counts["reused"] = counts.get("reused", 0.0) + sample.value
            elif sample.name == "vllm:prefix_cache_queries_total":
                counts["prompt"] = counts.get("prompt", 0.0) + sample.value
            elif sample.name == "llamacpp:prompt_tokens_cached_total":
                counts["reused"] = counts.get("reused", 0.0) + sample.value
                counts["prompt"] = counts.get("prompt", 0.0) + sample.value
            elif sample.name == "llamacpp:prompt_tokens_total":  # those computed
                counts["prompt"] = counts.get("prompt", 0.0) + sample.value
            elif sample.name == "quill_host_prompt_tokens_total":
                counts["prompt"] = counts.get("prompt", 0.0) + sample.value
                if sample.labels.get("source") == "reused":
                    counts["reused"] = counts.get("reused", 0.0) + sample.value
    if "prompt" not in counts:
        return None
    return {"reused": counts.get("reused", 0.0), "prompt": counts["prompt"]}


def _delta(after: Counts | None, before: Counts | None) -> Counts | None:
    if after is None or before is None:
        return None
    return {key: after[key] - before[key] for key in after}


@dataclass
class SessionResult:
    session: Session
    cold_ms: float = 0.0  # the request made on opening the document
    warm_ms: list[float] = field(default_factory=list)  # those after keystrokes
    model_ms: list[float] = field(default_factory=list)  # ... of them, those the model answered
    empty: int = 0  # answers with no suggestion
    warm_cache: Counts | None = None  # the server's counters over the warm requests


async def replay(
    client: BenchClient, url: str, root: Path, session: Session, every: str
) -> SessionResult:
    """Type ``session`` back in, asking for a completion after each word (or keystroke)."""
    result = SessionResult(session)
    document = session_document(root, session)
    open_document(client, document.uri, document.text)
    result.cold_ms = await _ask(client, document.uri, document.start, document.lines, result)
    before = cache_counters(url)
    calls = await _model_calls(client)

    async def ask_warm(position: types.Position) -> None:
        nonlocal calls
        elapsed_ms = await _ask(client, document.uri, position, document.lines, result)
        result.warm_ms.append(elapsed_ms)
        calls, before_calls = await _model_calls(client), calls
        if calls > before_calls:  # not answered from Quill's own suggestion cache
            result.model_ms.append(elapsed_ms)

    await type_asking(client, document.uri, document.start, document.keys, every, ask_warm)
    result.warm_cache = _delta(cache_counters(url), before)
    close_document(client, document.uri)
    return result


async def _model_calls(client: BenchClient) -> int:
    """Requests the server has sent on to the model so far (``quill.stats``): those it
    answered by type-through or speculation, without the model, cost nothing to compare."""
    stats = await execute(client, "quill.stats")
    return int(stats.get("modelCalls", 0)) if isinstance(stats, dict) else 0


async def _ask(
    client: BenchClient,
    uri: str,
    position: types.Position,
    lines: list[str],
    result: SessionResult,
) -> float:
    """One automatic inline completion; the milliseconds until its answer."""
    text, elapsed_ms = await client.suggestion(uri, position)
    result.empty += not text
    if client.verbose:
        typed = lines[position.line][position.character :].rstrip("\r\n")
        print(f"    {elapsed_ms:6.0f} ms  typed next {typed!r}, suggested {text!r}")
    return elapsed_ms


@dataclass
class Run:
    results: list[SessionResult]
    prompt: dict[str, Any]  # the last quill.lastPrompt: dialect and model
    stats: dict[str, Any]  # quill.stats at the end: who answered
    seconds: float


async def run(
    url: str, sessions: list[Session], options: dict[str, Any], every: str, verbose: bool
) -> Run:
    """One ``quill serve`` on a copy of pip, pointed at ``url``: the sessions typed in turn."""
    source = pip_source()
    with tempfile.TemporaryDirectory() as scratch:
        root = source.copy_workspace(Path(scratch) / "src")
        client = BenchClient(verbose)
        async with shut_down_after(client):
            settings = {"debounceMs": 0, "deadlineMs": 30_000, **options, "serverUrl": url}
            await client.serve(root, Path(scratch) / "cache", settings, INDEX_TIMEOUT_S)
            started = time.perf_counter()
            results = []
            for session in sessions:
                results.append(await replay(client, url, root, session, every))
                print(f"  {session.name}: {1 + len(results[-1].warm_ms)} requests", flush=True)
            seconds = time.perf_counter() - started
            prompt = await execute(client, "quill.lastPrompt")
            stats = await execute(client, "quill.stats")
    client.print_messages()
    return Run(
        results,
        prompt if isinstance(prompt, dict) else {},
        stats if isinstance(stats, dict) else {},
        seconds,
    )


def report(found: Run, label: str) -> None:
    results = found.results
    warm = [ms for result in results for ms in result.warm_ms]
    model = [ms for result in results for ms in result.model_ms]
    cold = [result.cold_ms for result in results]
    requests = len(warm) + len(cold)
    caches = [result.warm_cache for result in results]
    if all(cache is not None for cache in caches):
        reused = sum(cache["reused"] for cache in caches if cache)
        prompt = sum(cache["prompt"] for cache in caches if cache)
        reuse = f"{100 * reused / prompt:.1f}% ({reused:,.0f} of {prompt:,.0f})" if prompt else "-"
    else:
        reuse = "not reported by the server"
    stats = ", ".join(f"{key} {value}" for key, value in found.stats.items()) or "-"
    rows = [
        ["server", label],
        ["dialect (quill.lastPrompt)", str(found.prompt.get("dialect", "?"))],
        ["model", str(found.prompt.get("model", "?"))],
        ["sessions", ", ".join(result.session.name for result in results)],
        ["requests (empty answers)", f"{requests} ({sum(r.empty for r in results)})"],
        ["time to suggestion, cold (first of a session): median ms", f"{median(cold):.0f}"],
        [f"time to suggestion, warm ({len(warm)}): p50 / p90 ms", slash_cell(warm, "p50", "p90")],
        [
            f"... of them answered by the model ({len(model)}): p50 / p90 ms",
            slash_cell(model, "p50", "p90"),
        ],
        ["reused prompt tokens, warm requests", reuse],
        ["quill.stats", stats],
        ["replay seconds", f"{found.seconds:.0f}"],
    ]
    print()
    print(markdown_table(["measure", "value"], rows))


@contextmanager
def started_server(kind: str, log_dir: Path) -> Iterator[str]:
    """The server ``--start`` names, running until the block ends: its URL."""
    if kind == "embedded":
        with running_host() as host:
            yield host.url
        return
    print(f"starting {kind} (log: {log_dir / 'server.log'})", flush=True)
    started = time.perf_counter()
    with SERVERS[kind](log_dir / "server.log") as server:
        print(f"{kind} ready in {time.perf_counter() - started:.0f} s", flush=True)
        yield server.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("url", nargs="?", help="a running model server")
    target.add_argument("--start", choices=(*sorted(SERVERS), "embedded"))
    add_session_arguments(parser, sessions=1)
    add_setting_argument(parser)
    parser.add_argument("--verbose", action="store_true", help="print every suggestion")
    args = parser.parse_args()
    options = parse_settings(args.setting)
    sessions = choose_sessions(pip_source(), args.sessions, args.seed)
    with tempfile.TemporaryDirectory() as logs:
        if args.start:
            with started_server(args.start, Path(logs)) as url:
                found = asyncio.run(run(url, sessions, options, args.every, args.verbose))
            label = f"{args.start} (started here)"
        else:
            found = asyncio.run(run(args.url, sessions, options, args.every, args.verbose))
            label = args.url
    report(found, label)


if __name__ == "__main__":
    main()

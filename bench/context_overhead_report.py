"""What ``context_overhead.py`` measures while it types, the goals, and the report it prints.

Owned here, apart from the typing: the record of each request (its round trip, the
stand-in model's own time on it, the ``/tokenize`` calls it made), the context pieces of
the prompts sampled now and then, the summary the goals and ``--json`` read (everything but
the model call: p50 <= 10 ms, p99 <= 50 ms), and the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench_stats import machine_line, markdown_table, median, percentile, stat_cells, verdict

P50_GOAL_MS = 10.0
P99_GOAL_MS = 50.0


@dataclass
class PromptSample:
    tokens: int
    budget: int
    pieces: int
    kinds: dict[str, int]


@dataclass
class Typing:
    """What the replay measured."""

    first_request_ms: float  # at the cursor, before the first keystroke (cold caches)
    first_request_tokenize_calls: int
    round_trip_ms: list[float] = field(default_factory=list)
    model_ms: list[float] = field(default_factory=list)  # the stand-in's own time
    tokenize_calls: list[int] = field(default_factory=list)
    suggestions: int = 0  # requests answered with an item
    prompts: list[PromptSample] = field(default_factory=list)
    model_calls: int = 0
    connections: int = 0  # TCP connections opened to the stand-in
    replay_exact: bool = False  # the server's text after typing equals the file's

    @property
    def overhead_ms(self) -> list[float]:
        return [rtt - model for rtt, model in zip(self.round_trip_ms, self.model_ms, strict=True)]


@dataclass
class OverheadResult:
    tree: str
    file: str
    function: str
    scan: str  # what the server's progress end said
    scan_wait_s: float
    load_average: tuple[float, float]  # 1-minute, before and after typing
    typing: Typing

    def summary(self) -> dict[str, Any]:
        overhead, round_trip = self.typing.overhead_ms, self.typing.round_trip_ms
        return {
            "requests": len(overhead),
            "overhead_ms_p50": median(overhead),
            "overhead_ms_p95": percentile(overhead, 95),
            "overhead_ms_p99": percentile(overhead, 99),
            "overhead_ms_max": max(overhead, default=float("nan")),
            "round_trip_ms_p50": median(round_trip),
            "round_trip_ms_p99": percentile(round_trip, 99),
            "model_ms_p50": median(self.typing.model_ms),
            "p50_goal_met": median(overhead) <= P50_GOAL_MS,
            "p99_goal_met": percentile(overhead, 99) <= P99_GOAL_MS,
        }


def report(result: OverheadResult) -> str:
    s, typing = result.summary(), result.typing
    pieces = [sample.pieces for sample in typing.prompts]
    kinds: Counter[str] = Counter()
    for sample in typing.prompts:
        kinds.update(sample.kinds)
    tokens = [sample.tokens for sample in typing.prompts]
    budget = typing.prompts[-1].budget if typing.prompts else 0
    lines = [
        f"tree: {result.tree}",
        f"server's scan: {result.scan} (ended {result.scan_wait_s:.1f} s after initialize)",
        f"typed: {s['requests']} keystrokes into {result.function}() of {result.file}",
        machine_line(*result.load_average, during=" typing"),
        "",
    ]
    rows = [
        ["everything but the model call (overhead)", *_cells(typing.overhead_ms)],
        ["round trip as the client sees it", *_cells(typing.round_trip_ms)],
        ["the stand-in's time on /generate_stream", *_cells(typing.model_ms)],
    ]
    lines.append(markdown_table(["per request (ms)", "p50", "p95", "p99", "max"], rows))
    lines += [
        "",
        f"first request (opening the file, cold caches): {typing.first_request_ms:.1f} ms, "
        f"{typing.first_request_tokenize_calls} /tokenize calls",
        f"requests answered with a suggestion: {typing.suggestions}/{s['requests']}; "
        f"the server's text after typing equals the file: {verdict(typing.replay_exact)}",
        f"/tokenize calls per request: median {median(typing.tokenize_calls):.0f}, "
        f"max {max(typing.tokenize_calls, default=0)}; TCP connections opened to the stand-in: "
        f"{typing.connections} for {typing.model_calls} /generate_stream calls",
        f"context pieces in {len(pieces)} sampled prompts: min {min(pieces, default=0)}, "
        f"median {median(pieces):.0f}, max {max(pieces, default=0)} "
        f"({', '.join(f'{kind} {n}' for kind, n in kinds.most_common()) or 'none'}); "
        f"prompt tokens median {median(tokens):.0f} of a {budget} budget",
        "",
        f"goal p50 <= {P50_GOAL_MS:g} ms: {verdict(s['p50_goal_met'])} "
        f"({s['overhead_ms_p50']:.1f} ms); "
        f"goal p99 <= {P99_GOAL_MS:g} ms: {verdict(s['p99_goal_met'])} "
        f"({s['overhead_ms_p99']:.1f} ms)",
    ]
    return "\n".join(lines)


def _cells(values: list[float]) -> list[str]:
    return stat_cells(values, "median", "p95", "p99", "max", digits=2)

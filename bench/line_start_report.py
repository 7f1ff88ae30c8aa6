"""The figures of ``line_starts.py``, per set of sessions, and the issue's goals against them.

Time to ghost text is counted from the keystroke of the line start (Enter) to a non-empty
answer. A line start that got none within the look (an empty answer, or a late one) counts
as the whole look in the median and p95: that is what the person waited for nothing. The
goals (issue 16, on a 2-core CPU with the default model):

  median time to ghost text at line starts ≤ 300 ms, p95 ≤ 1 s, empty answers ≤ 5%;
  first-line exact match no lower than when every answer may arrive (``--baseline``: a
  run saved with ``--save`` under ``--setting deadlineMs=30000``);
  after an accepted suggestion, the next one within 50 ms (median) when the speculation
  held (the server counted a speculative hit between the Tab and the next line start).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench_stats import markdown_table, median, percentile, verdict
from host_counters import generations_cell, reuse_cell, total
from line_start_typist import LineStart, SessionRecord
from paced_typing import PacedRequest

WITHIN_MS = (300, 500, 1000)
GOAL_MEDIAN_MS, GOAL_P95_MS, GOAL_EMPTY_PCT, GOAL_AFTER_ACCEPT_MS = 300, 1000, 5.0, 50
SOURCES = ("model", "type-through", "speculation", "none")
SERVER_COUNTERS = (
    "requests", "modelCalls", "typeThroughHits", "speculativeHits", "speculationsStarted",
    "warmups",
)  # fmt: skip


@dataclass(frozen=True)
class SetResult:
    name: str  # "tuning" | "held-out"
    describe: str  # where its sessions were cut
    records: list[SessionRecord]
    seconds: float  # the set's wall time, the server's indexing included
    deadline_ms: float  # the server's, to recognise answers cut by it

    @property
    def starts(self) -> list[LineStart]:
        return [start for record in self.records for start in record.line_starts]


@dataclass(frozen=True)
class Figures:
    """The numbers the goals and ``--save`` / ``--baseline`` use."""

    line_starts: int
    median_ms: float
    p95_ms: float
    empty_pct: float
    exact_pct: float
    after_accept_held_ms: float  # NaN where no speculation held (or no quill.stats)
    exact_at: dict[str, bool]  # each line start (``exact_by_line_start``) → exact

    def as_json(self) -> dict[str, float]:
        return {
            "lineStarts": self.line_starts,
            "medianMs": self.median_ms,
            "p95Ms": self.p95_ms,
            "emptyPct": self.empty_pct,
            "exactPct": self.exact_pct,
        }


def figures(result: SetResult, look_ms: float) -> Figures:
    starts = result.starts
    waited = _waited(starts, look_ms)
    count = len(starts) or 1
    held = [start.ghost_ms for start in starts if start.held]
    return Figures(
        len(starts),
        median(waited),
        percentile(waited, 95),
        100 * sum(start.ghost_ms is None for start in starts) / count,
        100 * sum(start.exact for start in starts) / count,
        median([look_ms if ms is None else ms for ms in held]),
        exact_by_line_start(result),
    )


def _waited(starts: list[LineStart], look_ms: float) -> list[float]:
    return [look_ms if start.ghost_ms is None else start.ghost_ms for start in starts]


@dataclass(frozen=True)
class Baseline:
    """A saved run's first-line exact match per set (%), and per line start where the run
    saved them (``exact_at``: set → line start → exact), to say which line starts differ."""

    exact_pct: dict[str, float]
    exact_at: dict[str, dict[str, bool]]


def exact_by_line_start(result: SetResult) -> dict[str, bool]:
    """Each line start (its session, and its place among the session's) → exact."""
    return {
        f"{record.name}#{index}": start.exact
        for record in result.records
        for index, start in enumerate(record.line_starts)
    }


def report(
    results: list[SetResult], look_ms: float, setup: str, baseline: Baseline | None
) -> dict[str, Figures]:
    """Print the tables (markdown) and return each set's figures."""
    print()
    print(setup)
    for result in results:
        print()
        print(f"**{result.name}**: {result.describe}")
        print()
        print(markdown_table(*_session_table(result, look_ms)))
    print()
    columns = [result.name for result in results]
    rows = [[name, *(cell(result) for result in results)] for name, cell in _summary_rows(look_ms)]
    print(markdown_table(["measure", *columns], rows))
    found = {result.name: figures(result, look_ms) for result in results}
    print()
    print(markdown_table(["goal", *columns], _goal_rows(found, baseline, columns)))
    return found


def _session_table(result: SetResult, look_ms: float) -> tuple[list[str], list[list[str]]]:
    header = ["session (file:line)", "line starts", "time to ghost text: median ms",
              "no ghost text", "first line exact", "accepted", "typed through (hits / keys)",
              "answered by model / type-through / speculation", "reused tokens"]  # fmt: skip
    rows = []
    for record in result.records:
        starts = record.line_starts
        rows.append([
            record.name,
            str(len(starts)),
            f"{median(_waited(starts, look_ms)):.0f}",
            str(sum(start.ghost_ms is None for start in starts)),
            str(sum(start.exact for start in starts)),
            str(sum(start.accepted for start in starts)),
            _through_cell(starts),
            _sources_cell(starts, SOURCES[:3]),
            reuse_cell(record.host),
        ])  # fmt: skip
    return header, rows


_Cell = Callable[[SetResult], str]


def _summary_rows(look_ms: float) -> list[tuple[str, _Cell]]:
    return [
        ("sessions / line starts (blank lines are not stopped at)",
         lambda r: f"{len(r.records)} / {len(r.starts)}"),
        (f"time to ghost text at a line start: median / p95 (none in the look counts as "
         f"the look, {look_ms:.0f} ms)", lambda r: _median_p95(_waited(r.starts, look_ms))),
        ("the same over line starts that got ghost text",
         lambda r: _median_p95([s.ghost_ms for s in r.starts if s.ghost_ms is not None])),
        ("the same at each file's first line start (the file just opened): median",
         lambda r: _ms(median(_waited([s for s in r.starts if s.first_in_file], look_ms)))),
        ("ghost text within 0.3 / 0.5 / 1 s", _within_cell),
        ("no ghost text in the look (an empty answer, or none yet)",
         lambda r: _share(sum(s.ghost_ms is None for s in r.starts), len(r.starts))),
        ("first line = the line written (exact, trailing spaces aside), over all line starts",
         lambda r: _share(sum(s.exact for s in r.starts), len(r.starts))),
        ("line starts answered by model / type-through / speculation / none (quill.stats)",
         lambda r: _sources_cell(r.starts, SOURCES)),
        ("line starts the model answered from the small prompt (the file's full one not "
         "computed yet) / from the full one: count, exact, median ms", _prompt_size_cell),
        ("suggestions accepted (Tab: their first line)",
         lambda r: str(sum(s.accepted for s in r.starts))),
        ("the request at an accepted line's end: a suggestion before the next key / median ms",
         _accept_request_cell),
        ("next line start after an acceptance: median ms, all / when the speculation held (n)",
         lambda r: _after_accept_cell(r, look_ms)),
        ("requests after a word's end: sent / superseded / a suggestion (before the next key)",
         _word_cell),
        ("all requests (one per key): sent / superseded / cut by the deadline / empty / errors",
         _requests_cell),
        ("type-through as the typist saw it: keys typed through a partly right suggestion, "
         "answered with its rest within 50 ms", lambda r: _through_cell(r.starts)),
        ("server (quill.stats): requests / model calls / type-through hits / speculative "
         "hits of speculations started / warm-ups", _server_cell),
        ("host: reused prompt tokens (finished generations)",
         lambda r: reuse_cell(total([record.host for record in r.records]))),
        ("host: generation requests (closed early), seconds",
         lambda r: generations_cell(total([record.host for record in r.records]))),
        ("keys typed more than 20 ms late / p95 lateness", _late_cell),
        ("documents that ended as the original file (quill.documentState)", _typed_back_cell),
        ("wall time of the set (indexing included)", lambda r: f"{r.seconds:.0f} s"),
    ]  # fmt: skip


def _within_cell(result: SetResult) -> str:
    starts = result.starts
    shares = [
        sum(s.ghost_ms is not None and s.ghost_ms <= limit for s in starts) / (len(starts) or 1)
        for limit in WITHIN_MS
    ]
    return " / ".join(f"{100 * share:.0f}%" for share in shares)


def _sources_cell(starts: list[LineStart], sources: tuple[str, ...]) -> str:
    if any(start.source == "n/a" for start in starts) or not starts:
        return "n/a"
    return " / ".join(str(sum(start.source == source for start in starts)) for source in sources)


def _prompt_size_cell(result: SetResult) -> str:
    """Where the gap in exact match lies: until a file's full prompt is computed (seconds
    on a CPU), its line starts get the small one, which holds no context."""
    model = [start for start in result.starts if start.source == "model"]
    if not model or any(start.small_prompt is None for start in model):
        return "n/a"

    def cell(starts: list[LineStart]) -> str:
        if not starts:
            return "0"
        ms = median([start.ghost_ms for start in starts if start.ghost_ms is not None])
        exact = sum(start.exact for start in starts)
        return f"{len(starts)}: {100 * exact / len(starts):.1f}% exact, {_ms(ms)}"

    small = [start for start in model if start.small_prompt]
    return f"{cell(small)} / {cell([start for start in model if not start.small_prompt])}"


def _accept_request_cell(result: SetResult) -> str:
    requests = [request for record in result.records for request in record.accept_requests]
    if not requests:
        return "-"
    shown = sum(request.shown for request in requests)
    answered = [request.latency_ms for request in requests if request.text]
    return f"{shown} of {len(requests)} / {_ms(median(answered))}"


def _after_accept_cell(result: SetResult, look_ms: float) -> str:
    after = [start for start in result.starts if start.after_accept]
    if not after:
        return "-"
    held = [start for start in after if start.held]
    unknown = any(start.held is None for start in after)
    held_cell = "n/a" if unknown else _ms(median(_waited(held, look_ms)))
    return f"{_ms(median(_waited(after, look_ms)))} / {held_cell} ({len(held)} of {len(after)})"


def _word_cell(result: SetResult) -> str:
    requests = [request for record in result.records for request in record.word_requests]
    superseded = _count(result, requests, "superseded")
    with_text = [request for request in requests if request.text]
    shown = sum(request.shown for request in requests)
    return f"{len(requests)} / {superseded} / {len(with_text)} ({shown})"


def _requests_cell(result: SetResult) -> str:
    requests = [request for record in result.records for request in record.requests]
    outcomes = ("superseded", "deadline", "empty", "error")
    counts = " / ".join(str(_count(result, requests, outcome)) for outcome in outcomes)
    return f"{len(requests)} / {counts}"


def _count(result: SetResult, requests: list[PacedRequest], outcome: str) -> int:
    return sum(request.outcome(result.deadline_ms) == outcome for request in requests)


def _through_cell(starts: list[LineStart]) -> str:
    keys = sum(len(start.through) for start in starts)
    return f"{sum(start.through_hits for start in starts)} of {keys}" if keys else "-"


def _server_cell(result: SetResult) -> str:
    counters = [record.server for record in result.records]
    if not counters or any(counts is None for counts in counters):
        return "n/a"
    summed = {name: sum(c.get(name, 0.0) for c in counters if c) for name in SERVER_COUNTERS}
    values = [f"{summed[name]:.0f}" for name in SERVER_COUNTERS]
    return f"{values[0]} / {values[1]} / {values[2]} / {values[3]} of {values[4]} / {values[5]}"


def _late_cell(result: SetResult) -> str:
    late = [ms for record in result.records for ms in record.late_ms]
    return f"{sum(ms > 20 for ms in late)} of {len(late)} / {percentile(late, 95):.0f} ms"


def _typed_back_cell(result: SetResult) -> str:
    records = result.records
    checked = [record.typed_back for record in records if record.typed_back is not None]
    unchecked = len(records) - len(checked)
    return f"{sum(checked)} of {len(records)}" + (f" ({unchecked} unchecked)" if unchecked else "")


def _goal_rows(
    found: dict[str, Figures], baseline: Baseline | None, columns: list[str]
) -> list[list[str]]:
    def row(name: str, cell: Callable[[str, Figures], str]) -> list[str]:
        return [name, *(cell(column, found[column]) for column in columns)]

    def exact(column: str, f: Figures) -> str:
        if baseline is None or column not in baseline.exact_pct:
            return f"{f.exact_pct:.1f}% (no --baseline for this set)"
        then = baseline.exact_pct[column]
        differing = _differing(f.exact_at, baseline.exact_at.get(column, {}))
        return f"{verdict(f.exact_pct >= then)} ({f.exact_pct:.1f}% vs {then:.1f}%{differing})"

    def after_accept(_: str, f: Figures) -> str:
        if math.isnan(f.after_accept_held_ms):
            return "n/a (no speculation held)"
        met = verdict(f.after_accept_held_ms <= GOAL_AFTER_ACCEPT_MS)
        return f"{met} ({f.after_accept_held_ms:.0f} ms)"

    return [
        row(f"median time to ghost text ≤ {GOAL_MEDIAN_MS} ms",
            lambda _, f: f"{verdict(f.median_ms <= GOAL_MEDIAN_MS)} ({f.median_ms:.0f} ms)"),
        row(f"p95 ≤ {GOAL_P95_MS} ms",
            lambda _, f: f"{verdict(f.p95_ms <= GOAL_P95_MS)} ({f.p95_ms:.0f} ms)"),
        row(f"empty answers ≤ {GOAL_EMPTY_PCT:.0f}%",
            lambda _, f: f"{verdict(f.empty_pct <= GOAL_EMPTY_PCT)} ({f.empty_pct:.1f}%)"),
        row("first-line exact match ≥ every answer allowed to arrive", exact),
        row(f"after an acceptance, next suggestion ≤ {GOAL_AFTER_ACCEPT_MS} ms (median, "
            "speculation held)", after_accept),
    ]  # fmt: skip


def _differing(here: dict[str, bool], there: dict[str, bool]) -> str:
    """How many line starts were exact in one run only: a difference of a few percent is
    then seen as the churn it may be (a 270M model's greedy answer turns on small changes
    of its prompt), not as a trend."""
    shared = here.keys() & there.keys()
    if not shared:
        return ""
    only_here = sum(here[key] and not there[key] for key in shared)
    only_there = sum(there[key] and not here[key] for key in shared)
    return f"; exact only here {only_here}, only there {only_there}"


def save(path: Path, found: dict[str, Figures], setup: str) -> None:
    """Each set's figures and line starts, for a later run's ``--baseline``."""
    sets = {name: figure.as_json() for name, figure in found.items()}
    exact_at = {name: figure.exact_at for name, figure in found.items()}
    saved = {"setup": setup, "sets": sets, "exactLineStarts": exact_at}
    path.write_text(json.dumps(saved, indent=2) + "\n")


def load_baseline(path: Path) -> Baseline:
    """A run saved with ``--save`` (one saved before the line starts were kept has only
    each set's figures)."""
    saved = json.loads(path.read_text())
    exact_pct = {name: float(values["exactPct"]) for name, values in saved["sets"].items()}
    return Baseline(exact_pct, saved.get("exactLineStarts", {}))


def _median_p95(values: list[float]) -> str:
    return f"{_ms(median(values))} / {_ms(percentile(values, 95))}" if values else "-"


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f} ms"


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}% ({part} of {whole})" if whole else "-"

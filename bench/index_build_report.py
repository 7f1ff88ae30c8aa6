"""The figures ``index_build.py`` measures on each tree, the goals, and the table it prints.

Owned here, apart from the measuring: what one tree's run holds (every repeat's time, so
medians and percentiles are taken once, here), the summary the goals and ``--json`` read,
and the markdown table with a column per tree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench_stats import markdown_table, median, percentile, verdict

BUILD_GOAL_RATIO = 2.0  # a cold build within twice ctags' time
UPDATE_GOAL_MS = 50.0


@dataclass
class TreeResult:
    name: str
    description: str
    files: int
    symbols: int
    cold_s: list[float]  # parsed in this process (``LocalScanWorker``)
    cold_server_s: list[float]  # as the server scans: in a worker process of its own
    cold_parsed: int
    parse_only_s: float  # tree-sitter's parse of every file, nothing else
    warm_s: list[float]
    warm_server_s: list[float]
    warm_parsed: int
    save_ms: list[float]
    buffer_ms: list[float]
    saves_found: int  # saved files whose new definition the index then held
    saves_checked: int
    ctags_s: list[float]
    ctags_files: int
    ctags_tags: int
    ctags_file_ms: list[float]
    baseline_rss_mb: float  # after the imports, before any scan
    peak_rss_mb: float
    worker_peak_rss_mb: float  # the server's scan worker process
    store_mb: float

    def summary(self) -> dict[str, Any]:
        cold, cold_server = median(self.cold_s), median(self.cold_server_s)
        ctags = median(self.ctags_s)
        return {
            "cold_s": cold,
            "files_per_s": self.files / cold,
            "cold_server_s": cold_server,
            "files_per_s_server": self.files / cold_server,
            "warm_s": median(self.warm_s),
            "warm_server_s": median(self.warm_server_s),
            "save_ms_p50": median(self.save_ms),
            "save_ms_max": max(self.save_ms, default=float("nan")),
            "buffer_ms_p50": median(self.buffer_ms),
            "ctags_s": ctags,
            "ctags_file_ms_p50": median(self.ctags_file_ms),
            "cold_over_ctags": cold / ctags,
            "cold_server_over_ctags": cold_server / ctags,
            # The goal is about what a user waits for: the scan as the server runs it.
            "build_goal_met": cold_server <= BUILD_GOAL_RATIO * ctags,
            "update_goal_met": median(self.save_ms) <= UPDATE_GOAL_MS,
        }


def table(results: list[TreeResult]) -> str:
    rows: list[list[str]] = []

    def row(label: str, cell: Callable[[TreeResult, dict[str, Any]], str]) -> None:
        rows.append([label, *(cell(result, result.summary()) for result in results)])

    row("files (languages)", lambda r, s: r.description)
    row("definitions indexed / ctags tags", lambda r, s: f"{r.symbols:,} / {r.ctags_tags:,}")
    row(
        f"index cold build in this process, median of {len(results[0].cold_s)} (files/s)",
        lambda r, s: f"{s['cold_s']:.2f} s ({s['files_per_s']:,.0f}/s; {r.cold_parsed} parsed)",
    )
    row(
        "index cold build as the server scans (a worker process), median (files/s)",
        lambda r, s: f"{s['cold_server_s']:.2f} s ({s['files_per_s_server']:,.0f}/s)",
    )
    row(
        "tree-sitter parsing alone, every file, one process",
        lambda r, s: f"{r.parse_only_s:.2f} s ({r.parse_only_s / s['ctags_s']:.1f}x ctags)",
    )
    row(
        "index warm restart, nothing changed: this process / server's way",
        lambda r, s: f"{s['warm_s']:.2f} s / {s['warm_server_s']:.2f} s ({r.warm_parsed} parsed)",
    )
    row(
        f"index update after a save, median of {len(results[0].save_ms)} files (p90 / max)",
        lambda r, s: (
            f"{s['save_ms_p50']:.1f} ms ({percentile(r.save_ms, 90):.1f} / "
            f"{s['save_ms_max']:.1f}); new definition found in {r.saves_found}/{r.saves_checked}"
        ),
    )
    row("re-index from a buffer (update_text), median", lambda r, s: f"{s['buffer_ms_p50']:.1f} ms")
    row(
        f"ctags -R, cold, median of {len(results[0].ctags_s)}",
        lambda r, s: f"{s['ctags_s']:.2f} s ({r.ctags_files} files)",
    )
    row("ctags -f - FILE, one file, median", lambda r, s: f"{s['ctags_file_ms_p50']:.1f} ms")
    row(
        "index cold / ctags: this process / server's way",
        lambda r, s: f"{s['cold_over_ctags']:.1f}x / {s['cold_server_over_ctags']:.1f}x",
    )
    row(
        f"goal: cold build (server's way) <= {BUILD_GOAL_RATIO:g}x ctags",
        lambda r, s: verdict(s["build_goal_met"]),
    )
    row(f"goal: update <= {UPDATE_GOAL_MS:g} ms", lambda r, s: verdict(s["update_goal_met"]))
    row(
        "peak RSS: indexing process (after imports) / scan worker",
        lambda r, s: (
            f"{r.peak_rss_mb:.0f} MB ({r.baseline_rss_mb:.0f} MB) / {r.worker_peak_rss_mb:.0f} MB"
        ),
    )
    row("store on disk", lambda r, s: f"{r.store_mb:.1f} MB")
    return markdown_table(["", *(result.name for result in results)], rows)

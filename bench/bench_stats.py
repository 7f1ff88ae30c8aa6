"""The figures every benchmark prints, computed and shown one way: percentiles and medians,
cells that join a few of them, markdown tables, and the line that says what machine ran it.

They live here, once, so that a "p95" or a "median" means the same in every report, and a
table printed by one benchmark looks like a table printed by another.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence

# A latency's spread as the ghost-text benchmarks print it, one column each.
SPREAD = ("median", "p90", "min", "max")


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100): a value that was measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def percentile_rounded(values: Sequence[float], q: float) -> float:
    """The value at rank ``round(q / 100 * (n - 1))``, 0 for no values: the percentile
    ``replay_sessions.py`` has always printed (it may be one rank off ``percentile``), kept
    so that its tables compare with earlier runs."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def stat(values: Sequence[float], mark: str) -> float:
    """One figure of ``values`` by its name: ``median``, ``min``, ``max`` or ``pNN`` (the
    nearest-rank percentile); NaN for no values."""
    if mark == "median":
        return median(values)
    if mark == "min":
        return min(values, default=math.nan)
    if mark == "max":
        return max(values, default=math.nan)
    if mark.startswith("p"):
        return percentile(values, float(mark[1:]))
    raise ValueError(f"unknown figure {mark!r}")


def stat_cells(values: Sequence[float], *marks: str, digits: int = 0) -> list[str]:
    """The figures ``marks`` names (see ``stat``), each a table cell."""
    return [f"{stat(values, mark):.{digits}f}" for mark in marks]


def stat_header(*marks: str, unit: str = "ms") -> list[str]:
    """Column names for ``stat_cells(values, *marks)``: ``median ms``, ``p90 ms`` ..."""
    return [f"{mark} {unit}" for mark in marks]


def slash_cell(values: Sequence[float], *marks: str, digits: int = 0) -> str:
    """The figures ``marks`` names in one cell, ``p50 / p95`` style."""
    return " / ".join(stat_cells(values, *marks, digits=digits))


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table; with no rows, its header alone (rows may follow, ``markdown_row``)."""
    lines = [markdown_row(header), "|" + " --- |" * len(header)]
    lines += [markdown_row(row) for row in rows]
    return "\n".join(lines)


def machine_line(load_before: float, load_after: float, during: str = "") -> str:
    """The cores and the 1-minute load average before and after the work (``during`` says
    what the work was, after "before"): a busy machine explains slow figures."""
    return (
        f"machine: {os.cpu_count()} cores, load average (1 min) {load_before:.1f} "
        f"before{during}, {load_after:.1f} after"
    )

"""Which model fits this machine, from what was timed on it.

A rule of thumb about cores would be wrong somewhere (a laptop's two fast cores beat a
server's four slow ones), so the advice rests on the doctor's own timings. A model keeps up
with typing when its median line start is within `KEEPS_UP_MS`; the best model that keeps
up is advised, where the catalog lists models smallest first and a later one writes better
code. A model that is not installed cannot be timed: the advice says how to install it and
to ask again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from quill.doctor.machine import Machine, gib
from quill.doctor.timing import Timing

KEEPS_UP_MS = 2000
"""The most a median line start may take: slower, and the user has typed the line before
the suggestion for it arrives (the goal set for a code model on a laptop)."""

SLOW_MS = 1000
"""Past this, the workspace context (which adds prefill whenever its pieces change) is
better left out; on two cores it doubled the code model's line-start time."""

Status = Literal["timed", "not installed", "not timed", "broken"]


@dataclass(frozen=True, slots=True)
class ModelReport:
    name: str
    summary: str
    size: int  # bytes of its file
    install_hint: str
    status: Status
    problem: str = ""  # why it could not be timed, as the user should read it
    timing: Timing | None = None

    @property
    def keeps_up(self) -> bool:
        return self.timing is not None and self.timing.median_line_start_ms <= KEEPS_UP_MS


@dataclass(frozen=True, slots=True)
class Advice:
    model: str | None  # the model to use; None when none works here
    reasons: list[str] = field(default_factory=list)


def advise(machine: Machine, reports: list[ModelReport], default: str) -> Advice:
    """The model to use and what to do about the others; `reports` smallest model first."""
    timed = [report for report in reports if report.timing is not None]
    best_first = list(reversed(reports))
    chosen = next((report for report in best_first if report.keeps_up), None)
    if chosen is None and timed:
        chosen = min(timed, key=lambda report: _median(report))
    reasons: list[str] = []
    if chosen is None:
        reasons.append("no model could be timed: " + _problems(reports))
    else:
        reasons.append(_use(chosen, default))
        if _median(chosen) > SLOW_MS:
            reasons.append(
                'set "workspaceIndex": false while typing speed matters: the workspace '
                "context adds prefill to a model this slow"
            )
    better = best_first[: best_first.index(chosen)] if chosen else []
    for report in better:
        reasons.append(_why_not(report, machine))
    if machine.gpu_unused:
        reasons.append(
            "an NVIDIA driver is loaded, but this llama.cpp build runs on the CPU only; "
            "a CUDA build uses the GPU: CMAKE_ARGS='-DGGML_CUDA=on' pip install "
            f"--force-reinstall --no-cache-dir 'llama-cpp-python=={machine.llama_cpp}'"
        )
    return Advice(chosen.name if chosen else None, reasons)


def _median(report: ModelReport) -> float:
    assert report.timing is not None
    return report.timing.median_line_start_ms


def _use(report: ModelReport, default: str) -> str:
    median = _median(report)
    pace = (
        f"its line starts take {median / 1000:.1f} s here"
        if report.keeps_up
        else f"the fastest here, though its line starts take {median / 1000:.1f} s"
    )
    if report.name == default:
        return f"use {report.name}, the default ({pace})"
    return f'use {report.name} ({pace}): set "hostModel": "{report.name}"'


def _why_not(report: ModelReport, machine: Machine) -> str:
    if report.status == "not installed":
        fits = ""
        if machine.available_bytes is not None and machine.available_bytes < 1.5 * report.size:
            available = gib(machine.available_bytes)
            fits = f" (its {gib(report.size)} file needs more memory than the {available} free)"
        return (
            f"{report.name} is not installed{fits}: {report.install_hint}, then run "
            "quill doctor again to time it"
        )
    if report.timing is not None:
        return (
            f"{report.name} writes better code, but its line starts take "
            f"{_median(report) / 1000:.1f} s here, more than {KEEPS_UP_MS / 1000:.0f} s: "
            f"too slow to keep up with typing on {machine.physical_cores} cores"
        )
    return f"{report.name} could not be timed: {report.problem}"


def _problems(reports: list[ModelReport]) -> str:
    return "; ".join(f"{report.name}: {report.problem}" for report in reports)

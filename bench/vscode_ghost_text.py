"""Keystroke to ghost text in a real VS Code: code-server 4.139 (VS Code 1.139's workbench,
extension host and vscode-languageclient) in a headless Chromium, with the extension's .vsix,
``quill serve`` as VS Code starts it, and the embedded host's model (warm).

Each round types a new line of a Python file a key every ``--pace-ms`` and stops where any
model goes on (``values_7 = [0, 1, 2, 3, `` mid-line; Enter after ``    1,`` at a line
start), as bench/neovim_ghost_text.py does in Neovim. The time is taken inside the page: from
the keydown event of the last key to the animation frame that paints the first ghost text
after it; the server runs behind tests/editors/vscode_e2e/tee_server.py, whose timeline
(wall clock, as the page's) splits it in three: the key to VS Code's request reaching the
server, the server's answer, and the answer to the painted frame. VS Code closes brackets
as a person types them (``[`` brings its ``]``), so the cursor has a ``]`` after it, as in a
person's editor. Quill's settings are the defaults.

Mid-line the time holds the server's pause (``debounceMs``) before the model; at a line start
the server does not wait. The first run installs code-server (see
tests/editors/vscode_e2e/harness.py). Run it alone: it and the model share the cores.

    flock /tmp/quill-heavy.lock python bench/vscode_ghost_text.py [--rounds 20] [--pace-ms 80]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.editors.vscode_e2e.harness import (
    TEE_SERVER,
    artifacts_dir,
    base_settings,
    build_vsix,
    code_server,
    install_toolchain,
    python_server_command,
    run_driver,
)

from bench_stats import SPREAD, markdown_table, median, stat_cells, stat_header
from running_host import running_host

WARM_UP_ROUNDS = 3
SOURCE = '"""Numbers, counted."""'
PLACES: dict[str, Callable[[int], str]] = {
    "mid-line (after `, `)": lambda i: f"\nvalues_{i} = [0, 1, 2, 3, ",
    "line start (after Enter)": lambda i: f"\nrows_{i} = [\n0,\n1,\n",
}


def plan(rounds: int) -> list[dict[str, Any]]:
    """Every round the driver types, warm-up rounds first for each place."""
    planned = []
    for place, text_of in PLACES.items():
        for i in range(WARM_UP_ROUNDS + rounds):
            planned.append(
                {"place": place, "index": i, "warmUp": i < WARM_UP_ROUNDS, "keys": list(text_of(i))}
            )
    return planned


def read_events(record_dir: Path) -> list[dict[str, Any]]:
    """The server wrapper's timeline: every LSP message either way, with its wall-clock time."""
    events = []
    for path in sorted(record_dir.glob("events-*.jsonl")):
        events += [json.loads(line) for line in path.read_text().splitlines() if line]
    return events


def breakdown(ghost: dict[str, Any], events: list[dict[str, Any]]) -> tuple[float, ...] | None:
    """Where a suggestion's time went: key to VS Code's request reaching the server, the
    server's answer, and that answer to the painted frame; None for one shown without a
    request of its own (typed through)."""
    key, paint = ghost["keyEpoch"], ghost["paintEpoch"]
    answers = {
        event["id"]: event
        for event in events
        if event["direction"] == "to client" and event["empty"] is False and event["t"] <= paint
    }
    asked = [
        event
        for event in events
        if event["direction"] == "to server"
        and event["method"] == "textDocument/inlineCompletion"
        and key <= event["t"] <= paint
        and event["id"] in answers
    ]
    if not asked:
        return None
    request = asked[-1]
    answer = answers[request["id"]]
    return request["t"] - key, answer["t"] - request["t"], paint - answer["t"]


def row(place: str, rounds: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[str]:
    measured = [r for r in rounds if r["place"] == place and not r["warmUp"]]
    shown = [r["ghost"] for r in measured if r["ghost"] is not None]
    times = [ghost["ms"] for ghost in shown]
    missing = len(measured) - len(shown)
    typed_through = sum(bool(ghost["showing"]) for ghost in shown)
    parts = [part for ghost in shown if (part := breakdown(ghost, events)) is not None]
    if not times:
        return [place, "0", "-", "-", "-", "-", "-", "-", "-", str(missing), "-"]
    return [
        place,
        str(len(times)),
        *stat_cells(times, *SPREAD),
        *(f"{median([p[i] for p in parts]):.0f}" for i in range(3)),
        str(missing),
        str(typed_through),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="suggestions measured per place")
    parser.add_argument("--pace-ms", type=float, default=80, help="time between keys")
    args = parser.parse_args()
    toolchain = install_toolchain()
    versions = toolchain.versions()
    rounds = plan(args.rounds)
    with running_host() as host, tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        workspace = root / "project"
        workspace.mkdir()
        (workspace / "values.py").write_text(SOURCE)
        vsix = build_vsix(root / "quill.vsix")
        record_dir = root / "record"
        # The server behind the recording wrapper: its timeline splits each time in three.
        command = [sys.executable, str(TEE_SERVER), str(record_dir), *python_server_command()]
        settings = base_settings(command, host.url)
        with code_server(toolchain, root / "home", vsix, workspace, settings) as server:
            result = run_driver(
                toolchain,
                "ghost_latency.mjs",
                {
                    "url": server.url,
                    "workspace": str(workspace),
                    "extensionsDir": str(server.extensions_dir),
                    "browserDir": str(root / "chromium"),
                    "artifacts": str(artifacts_dir()),
                    "file": "values.py",
                    "rounds": rounds,
                    "paceMs": args.pace_ms,
                    "betweenRoundsMs": 300,
                    "ghostTimeoutMs": 10_000,
                    "readyTimeoutMs": 90_000,
                },
                root,
                timeout_s=120 + len(rounds) * 15,
            )
        log = artifacts_dir() / "vscode-ghost-text-bench.log"
        shutil.copyfile(result["log_path"], log)
        events = read_events(record_dir)
    if "error" in result:
        print(f"the driver failed: {result['error']}", file=sys.stderr)
        return 1
    print(
        f"Keystroke to ghost text in VS Code {versions['vscode']} (code-server "
        f"{versions['code-server']}, headless Chromium; a key every {args.pace_ms:g} ms; "
        f"Quill's default settings; {WARM_UP_ROUNDS} warm-up rounds per place not counted)\n"
    )
    print(
        markdown_table(
            [
                "place",
                "suggestions",
                *stat_header(*SPREAD),
                "median: key to request at server",
                "median: server",
                "median: answer to paint",
                "none within 10 s",
                "already on screen (typed through)",
            ],
            [row(place, result["rounds"], events) for place in PLACES],
        )
    )
    if result.get("screenshot"):
        print(f"\nscreenshot: {result['screenshot']}")
    print(f"each round: {log}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

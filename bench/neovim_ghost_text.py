"""Keystroke to ghost text in a real Neovim 0.11: how long after the last key of a pause
the suggestion is on screen, with the plugin's own ghost text, `quill serve` and the
embedded host's model (warm).

A typist writes lines of a Python file a key every ``--pace-ms`` (over Neovim's RPC
socket, as tests/editors/test_neovim_typing.py does) and stops, mid-line after an open
bracket or a comma (``for index_3 in range(``), or at a line start after Enter, then
waits for the ghost text. The time is measured inside Neovim: from ``vim.on_key`` seeing
the last key to the plugin drawing the answer (``User QuillGhostText``); the time seen
from outside (the key sent over RPC to the extmark read back) is printed beside it.

Mid-line the time holds the plugin's pause (``debounce_ms``) and the server's
(``debounceMs``) before the model; at a line start neither waits.

    python bench/neovim_ghost_text.py [--rounds 20] [--pace-ms 80] [--place line-start]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.editors.test_neovim_typing import Neovim, plugin_setup, wait_for

from bench_stats import SPREAD, markdown_table, median, stat_cells, stat_header
from running_host import running_host

WARM_UP_ROUNDS = 3
# The server answers within its deadline (deadlineMs, 3 s): later, the answer was empty.
NO_ANSWER_AFTER_S = 4
SOURCE = '"""Numbers, counted."""'
# Where the typist stops, {i} the round (no two prompts alike). Places where the rest of
# the line is short: after `values = [0, 1, 2, 3, ` a model writes numbers until its
# token limit (about 1.1 s here), which measures generation length, not the plumbing.
MID_LINE = [
    "for index_{i} in range(",
    "def add_{i}(a, ",
    "squares_{i} = [n * n for n in ",
    "name_{i} = input(",
    "if value_{i} is not ",
    "result_{i} = max(values, key=",
]
LINE_STARTS = [
    "def double_{i}(x):\n",
    "rows_{i} = [\n0,\n1,\n",
    "for n in range({i}):\n",
    "class Point{i}:\n",
]

INSTRUMENT = """
_G.bench = { keys = 0, shown = {} }
vim.on_key(function()
  _G.bench.keys = _G.bench.keys + 1
  _G.bench.last_key = vim.uv.hrtime()
end)
vim.api.nvim_create_autocmd("User", {
  pattern = "QuillGhostText",
  callback = function(args)
    table.insert(_G.bench.shown, {
      at = vim.uv.hrtime(), after_key = _G.bench.last_key, source = args.data.source,
    })
  end,
})
"""


def _measure(nvim: Neovim, keys: list[str], pause_s: float) -> tuple[float, float, str] | None:
    """Type ``keys``, then wait for ghost text drawn after the last of them: (ms inside
    Neovim, ms seen from outside, source), or None when none came (an empty answer)."""
    nvim.lua("_G.bench.shown = {}")
    *first, last = keys
    nvim.type("".join(first), pause_s)  # a pause after each key, the last one's too
    expected = int(nvim.lua("return _G.bench.keys")) + 1
    sent = time.perf_counter()
    nvim.type(last, 0)
    seen = None
    deadline = time.monotonic() + NO_ANSWER_AFTER_S
    while time.monotonic() < deadline:
        if seen is None and nvim.ghost_text() is not None:
            seen = time.perf_counter()
        shown = nvim.lua(
            "for _, s in ipairs(_G.bench.shown) do"
            "  if s.after_key == _G.bench.last_key and _G.bench.keys >= ... then"
            "    return { (s.at - s.after_key) / 1e6, s.source } end end",
            expected,
        )
        if shown:
            if seen is None:
                seen = time.perf_counter()
            return float(shown[0]), (seen - sent) * 1000, str(shown[1])
        time.sleep(0.005)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="suggestions measured per place")
    parser.add_argument("--pace-ms", type=float, default=80, help="time between keys")
    parser.add_argument("--debounce-ms", type=int, default=75, help="the plugin's pause")
    parser.add_argument("--server-debounce-ms", type=int, help="the server's debounceMs")
    parser.add_argument("--place", choices=["mid-line", "line-start", "both"], default="both")
    args = parser.parse_args()
    pause_s = args.pace_ms / 1000
    settings: dict[str, object] = {}
    if args.server_debounce_ms is not None:
        settings["debounceMs"] = args.server_debounce_ms
    rows = []
    with running_host() as host, tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        source = workdir / "project" / "values.py"
        source.parent.mkdir()
        source.write_text(SOURCE + "\n")
        nvim = Neovim(
            workdir,
            plugin_setup(settings={"serverUrl": host.url, **settings}, debounce_ms=args.debounce_ms)
            + INSTRUMENT,
        )
        try:
            nvim.edit(source)
            # A new line (<C-U> takes the indentation off), typed, then the pause.
            places = {
                "mid-line (after an open bracket, a comma, `not `, `key=`)": _cycle(MID_LINE),
                "line-start (after Enter)": _cycle(LINE_STARTS),
            }
            for place, keys_of in places.items():
                if args.place not in ("both", place.split()[0]):
                    continue
                inside, outside, sources, missing = [], [], [], 0
                i = 0
                # Until `rounds` suggestions (a place may get an empty answer: no ghost).
                while len(inside) < args.rounds and i < WARM_UP_ROUNDS + 3 * args.rounds:
                    keys = keys_of(i).replace("\n", "<CR>")
                    measured = _measure(nvim, _split_keys(keys), pause_s)
                    nvim.type("<Esc>", 0)
                    wait_for(lambda: nvim.mode() == "n", 5, "normal mode")
                    # The file as it was, for the next round.
                    nvim.lua("vim.api.nvim_buf_set_lines(0, 1, -1, false, {})")
                    i += 1
                    if i <= WARM_UP_ROUNDS:
                        continue
                    if measured is None:
                        missing += 1
                        continue
                    inside.append(measured[0])
                    outside.append(measured[1])
                    sources.append(measured[2])
                rows.append(_row(place, inside, outside, sources, missing))
        finally:
            nvim.close()
    print(
        f"Keystroke to ghost text in Neovim 0.11 (plugin ghost text; a key every "
        f"{args.pace_ms:g} ms; plugin debounce {args.debounce_ms} ms, server debounceMs "
        f"{args.server_debounce_ms if args.server_debounce_ms is not None else 'default'};"
        f" {WARM_UP_ROUNDS} warm-up rounds not counted)\n"
    )
    print(
        markdown_table(
            [
                "place",
                "suggestions",
                *stat_header(*SPREAD),
                "median ms seen over RPC",
                "empty answers",
                "not a new answer",
            ],
            rows,
        )
    )
    return 0


def _cycle(lines: list[str]) -> Callable[[int], str]:
    """Round i's keys: a new line, then the place's i-th text (Enter as <CR>)."""
    return lambda i: "Go<C-U>" + lines[i % len(lines)].format(i=i)


def _split_keys(keys: str) -> list[str]:
    return re.findall(r"<[^<>]+>|.", keys)


def _row(
    place: str, inside: list[float], outside: list[float], sources: list[str], missing: int
) -> list[str]:
    if not inside:
        return [place, "0", "-", "-", "-", "-", "-", str(missing), "-"]
    return [
        place,
        str(len(inside)),
        *stat_cells(inside, *SPREAD),
        f"{median(outside):.0f}",
        str(missing),
        str(sum(source != "answer" for source in sources)),
    ]


if __name__ == "__main__":
    raise SystemExit(main())

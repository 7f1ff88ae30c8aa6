"""What ``replay_sessions.py`` measures of each session when every answer is awaited, and the
tables it prints of them.

Owned here, apart from the replay itself: the per-session record (latencies, first-line
matches, prompt sizes, the host's counters, and where each prompt first changed from the
one before), and the report: a row per session, then the figures over all of them against
the goal of reusing at least 90% of the prompt tokens from the host's KV cache.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from bench_stats import markdown_table, percentile_rounded
from editing_sessions import Session, keystrokes
from host_counters import Counts, generations_cell, reuse_cell, total

GOAL_REUSE = 0.90
# Where a prompt first changed (see ``note_prompt``): in a context piece of the file being
# edited, in a piece of another file, in the file window, or only in the text just typed.
PARTS = ("piece of this file", "piece of another file", "window", "typed")
# What quill.context.quoting puts above a piece.
_PIECE_HEADER = re.compile(r"^# (\S+):\d+-\d+$", re.M)


@dataclass
class SessionResult:
    session: Session
    latencies_ms: list[float] = field(default_factory=list)  # the first one is cold
    compared: int = 0  # requests where the rest of the line was not blank
    first_line_equal: int = 0
    empty: int = 0  # requests answered with no suggestion
    prompt_tokens: list[int] = field(default_factory=list)
    pieces: list[int] = field(default_factory=list)
    reused: Counts = field(default_factory=dict)  # the host's counters over the session
    warm_reused: Counts = field(default_factory=dict)  # ... after its first request
    # Where each prompt first differs from the one before (characters from there to the
    # end must be computed again), by the part of the prompt the difference falls in.
    last_text: str = ""
    last_pieces: list[str] = field(default_factory=list)
    prompt_chars: int = 0
    changed_chars: Counts = field(default_factory=lambda: dict.fromkeys(PARTS, 0.0))

    def note_prompt(self, text: str) -> None:
        """Where this prompt first differs from the previous one: in a context piece at the
        top (of the file being edited, or of another), in the file window below them (its
        start moved, or text above the cursor changed), or only in the characters just typed
        at its end. Everything after that point must be computed again."""
        previous, self.last_text = self.last_text, text
        self.prompt_chars += len(text)
        if not previous:
            return
        same = next(
            (i for i, (old, new) in enumerate(zip(previous, text, strict=False)) if old != new),
            min(len(previous), len(text)),
        )
        header = text.find(f"# {self.session.file}\n")  # the current file, after the pieces
        if same < header:
            line_end = text.find("\n", same)
            end = line_end if line_end != -1 else len(text)
            pieces = list(_PIECE_HEADER.finditer(text, 0, end))
            of_this_file = bool(pieces) and pieces[-1][1] == self.session.file
            part = PARTS[0] if of_this_file else PARTS[1]
        elif same >= len(previous) - 1 or text.rfind("\n", 0, len(text)) < same:
            part = "typed"  # all of the previous prompt is kept, or the change is on its last line
        else:
            part = "window"
        self.changed_chars[part] += len(text) - same


def report(results: list[SessionResult], every: str, seconds: float) -> None:
    print()
    print(f"requests after each {every}; {len(results)} sessions replayed in {seconds:.0f} s")
    print()
    header = ["session (file:line)", "lines", "keystrokes", "requests", "p50 ms", "p95 ms",
              "first line = typed", "mean prompt tokens", "mean pieces",
              "reused tokens"]  # fmt: skip
    print(markdown_table(header, [_session_row(result) for result in results]))
    everything = [ms for result in results for ms in result.latencies_ms]
    warm = [ms for result in results for ms in result.latencies_ms[1:]]
    cold = [result.latencies_ms[0] for result in results if result.latencies_ms]
    compared = sum(result.compared for result in results)
    equal = sum(result.first_line_equal for result in results)
    empty = sum(result.empty for result in results)
    reused = total([result.reused for result in results])
    tokens = reused["reused"] + reused["computed"]
    met = "met" if tokens and reused["reused"] / tokens >= GOAL_REUSE else "NOT met"
    share = 100 * equal / compared if compared else 0.0
    rows = [
        ("completion requests", f"{len(everything)} ({empty} with no suggestion)"),
        ("latency, all requests: p50 / p95", _p50_p95(everything)),
        ("latency, after a keystroke: p50 / p95", _p50_p95(warm)),
        ("latency, first request of a session (cold KV cache): p50 / p95", _p50_p95(cold)),
        (
            f"reused prompt tokens at the host (goal ≥ {100 * GOAL_REUSE:.0f}%: {met})",
            reuse_cell(reused),
        ),
        (
            "reused prompt tokens, first request of each session left out",
            reuse_cell(total([result.warm_reused for result in results])),
        ),
        (
            "host: generation requests (closed early), seconds spent on them",
            generations_cell(total([result.reused for result in results])),
        ),
        (
            "prompt characters after a request's first change (to compute again), by where "
            "it changed: a piece of the file being edited / a piece of another file / "
            "the file window / only the text typed",
            changed_cell(results),
        ),
        ("suggestion's first line = the rest of the line typed", f"{equal}/{compared} "
                                                                f"({share:.1f}%)"),
    ]  # fmt: skip
    print()
    print(markdown_table(["measure", "value"], [list(row) for row in rows]))


def _session_row(result: SessionResult) -> list[str]:
    session = result.session
    _, keys = keystrokes(session.block)
    return [
        session.name,
        str(session.block.count("\n")),
        str(len(keys)),
        str(len(result.latencies_ms)),
        f"{percentile_rounded(result.latencies_ms, 50):.0f}",
        f"{percentile_rounded(result.latencies_ms, 95):.0f}",
        f"{result.first_line_equal}/{result.compared}",
        f"{statistics.mean(result.prompt_tokens or [0]):.0f}",
        f"{statistics.mean(result.pieces or [0]):.1f}",
        reuse_cell(result.reused),
    ]


def changed_cell(results: list[SessionResult]) -> str:
    """Shares of all prompt characters that followed a change, by the part it was in."""
    chars = sum(result.prompt_chars for result in results) or 1
    shares = [100 * sum(result.changed_chars[part] for result in results) / chars for part in PARTS]
    return " / ".join(f"{share:.1f}%" for share in shares)


def _p50_p95(values: list[float]) -> str:
    return f"{percentile_rounded(values, 50):.0f} / {percentile_rounded(values, 95):.0f} ms"

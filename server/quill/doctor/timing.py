"""Time a model where a user feels it: the first suggestion in a file, then line starts.

The edit is real code retyped: a few lines are taken out of a long Python file (the standard
library's `argparse`, present wherever Python is), the cursor goes where they were, and the
lines come back one at a time with a suggestion asked at each new line start, as an editor
asks after Enter. Each suggestion goes through the same pipeline and embedded host as an
editor's, with the model's default settings, and no workspace context (which adds prefill
of its own; the README measures it).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from quill.backends.endpoint import EndpointProvider
from quill.completion.pipeline import suggest
from quill.cursor import Cursor
from quill.settings import Settings, settings_from_options

RETYPED_LINES = 4
"""One cold request, then this many minus one line starts: few, since the code model
takes seconds for each on a small CPU."""

SUGGESTION_TIMEOUT_S = 180.0
"""A generous bound: a cold code model on two cores needs about ten seconds."""


@dataclass(frozen=True, slots=True)
class RetypedEdit:
    """A file with `lines` taken out at `offset`, to be typed back."""

    source: str  # the file read
    path: str  # what the prompt calls it: its bare name, as a file of the user's project
    text: str  # without the lines
    offset: int
    lines: tuple[str, ...]

    @classmethod
    def from_file(cls, path: Path, lines: int = RETYPED_LINES, choice: int = 0) -> RetypedEdit:
        """Take out a run of `lines` plain, indented code lines in the file's second half
        (deep enough for a full prompt, and lines a completion is asked for): the
        `choice`-th such run, counting round."""
        text = path.read_text(encoding="utf-8")
        all_lines = text.splitlines(keepends=True)
        starts = [
            start
            for start in range(len(all_lines) // 2, len(all_lines) - lines)
            if all(_plain_code(line) for line in all_lines[start : start + lines])
        ]
        if not starts:
            raise ValueError(f"{path} has no {lines} lines of indented code in a row")
        start = starts[choice % len(starts)]
        offset = sum(len(line) for line in all_lines[:start])
        run = all_lines[start : start + lines]
        rest = text[:offset] + text[offset + len("".join(run)) :]
        # By its bare name: the folder Python is installed in may be git-ignored, and no
        # prompt is made from a git-ignored file.
        return cls(str(path), path.name, rest, offset, tuple(run))

    @classmethod
    def standard(cls) -> RetypedEdit:
        """Lines of `argparse.py`, a different run each time: the editors' shared host may
        still hold the prompt of the last run in its cache, which would make a first
        suggestion look warm."""
        source = inspect.getsourcefile(argparse)
        if source is None:
            raise ValueError("this Python has no source for argparse to retype")
        return cls.from_file(Path(source), choice=random.randrange(1 << 16))

    def line_starts(self) -> list[Cursor]:
        """The cursor at each line start, with the line's indentation typed (as an editor's
        Enter leaves it), after the lines before it were typed back."""
        cursors = []
        typed = ""
        for line in self.lines:
            indent = line[: len(line) - len(line.lstrip())]
            text = self.text[: self.offset] + typed + indent + self.text[self.offset :]
            cursors.append(
                Cursor(self.path, "python", text, self.offset + len(typed) + len(indent))
            )
            typed += line
        return cursors


def _plain_code(line: str) -> bool:
    stripped = line.strip()
    return (
        line.startswith("    ")
        and bool(stripped)
        and not stripped.startswith(("#", '"', "'", "@"))
        and '"""' not in line
    )


class TimingFailed(RuntimeError):
    """The pipeline asked no model where the edit expected it to (a timing of nothing)."""


@dataclass(frozen=True, slots=True)
class Timing:
    model_id: str
    start_s: float  # until the host answered: assembling, loading, or finding it running
    first_ms: float  # the first suggestion in the file: its whole prompt is computed
    line_start_ms: tuple[float, ...]  # the line starts after it, the prompt mostly cached
    prompt_format: str

    @property
    def median_line_start_ms(self) -> float:
        return statistics.median(self.line_start_ms)


async def time_model(host_model: str, edit: RetypedEdit) -> Timing:
    """Start (or find) `host_model`'s embedded host and time suggestions along `edit`."""
    settings = _settings(host_model)
    endpoints = EndpointProvider()
    try:
        started = time.perf_counter()
        endpoint = await endpoints.get(settings)
        info = await endpoint.info()
        start_s = time.perf_counter() - started
        times = []
        prompt_format = ""
        for cursor in edit.line_starts():
            started = time.perf_counter()
            async with asyncio.timeout(SUGGESTION_TIMEOUT_S):
                suggestion = await suggest(cursor, endpoint, settings)
            times.append((time.perf_counter() - started) * 1000)
            if suggestion is None or suggestion.prompt is None:
                raise TimingFailed(f"no model was asked at offset {cursor.offset} of {edit.path}")
            prompt_format = suggestion.prompt.format
    finally:
        await endpoints.aclose()
    return Timing(info.model_id, start_s, times[0], tuple(times[1:]), prompt_format)


def _settings(host_model: str) -> Settings:
    settings, problems = settings_from_options({"hostModel": host_model})
    if problems:
        raise ValueError("; ".join(problems))
    return settings

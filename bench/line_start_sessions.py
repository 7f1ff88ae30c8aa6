"""The code typed back in by ``line_starts.py``: real hunks, each taken out of its file on disk.

Two sets, for two jobs (as in ``recall_sources.py``):

  tuning     pip 23.2.1 (``pip/_internal``), the project the context ranking and the
             server's timing are tuned on: the same blocks ``replay_sessions.py`` types
             (its first sessions for the same seed), so figures compare across the two.
  held-out   httpx and starlette, half the sessions from each: nobody tuned on them, and
             ``pip install -e '.[host,test,transformers]'`` installs both (httpx is the
             server's HTTP client, starlette the host's web framework), so every machine
             set up for Quill has them without a download. They are small, typed,
             hand-written libraries in a style other than pip's. Their versions are only
             bounded below by the project (``httpx>=0.28``, ``starlette>=0.46``), so the
             report prints the versions the sessions were cut from.

A hunk is what ``editing_sessions.blocks_in`` takes: 3 to 6 whole lines of consecutive
statements in a function body (the docstring left out), so it is always code, though it may
hold comment and blank lines between the statements. One hunk per file, drawn with the seed.

Unlike ``replay_sessions.py``, which leaves the file on disk whole, the hunk is removed from
the workspace's copy of the file before the server starts, so neither the index nor the
prompt's context can hold the lines being typed: the server sees what a developer's disk
holds while the code is not yet written.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from lsprotocol import types

from editing_sessions import Session, choose_sessions
from recall_sources import SourceTree, pip_source

SET_NAMES = ("tuning", "held-out")
HELD_OUT_PACKAGES = ("httpx", "starlette")


@dataclass(frozen=True)
class TypingPlan:
    """One session: the file as opened (without its hunk) and the hunk's lines to type."""

    name: str  # file:line of the hunk's first line, in the original file (1-based)
    path: Path  # the file in the workspace copy, already without the hunk
    text: str  # the file's text without the hunk: what the editor opens
    start: types.Position  # the end of the line above the hunk, where typing starts
    lines: tuple[tuple[str, str], ...]  # each hunk line: (its indentation, the rest)
    original: str  # the file with its hunk: what the document must hold when typing ends


@dataclass(frozen=True)
class Workspace:
    """A package copied to a folder the server opens, with the hunks of its sessions."""

    source: SourceTree
    sessions: tuple[Session, ...]

    def prepare(self, into: Path) -> tuple[Path, list[TypingPlan]]:
        """Copy the package under ``into`` and take each session's hunk out of its file
        there; the workspace folder and the plans that type the hunks back in."""
        root = self.source.copy_workspace(into)
        return root, [_take_out(root, session) for session in self.sessions]


@dataclass(frozen=True)
class SessionSet:
    name: str  # "tuning" | "held-out"
    workspaces: tuple[Workspace, ...]

    def describe(self) -> str:
        parts = []
        for workspace in self.workspaces:
            source = workspace.source
            note = f"; {source.note}" if source.note else ""
            parts.append(
                f"{source.package} {source.version} ({len(workspace.sessions)} sessions{note})"
            )
        return ", ".join(parts)


def session_sets(which: str, count: int, seed: int) -> list[SessionSet]:
    """The sets asked for (``tuning``, ``held-out`` or ``both``), ``count`` sessions each."""
    names = SET_NAMES if which == "both" else (which,)
    sets = []
    for name in names:
        if name == "tuning":
            sources = [pip_source()]
        else:
            sources = [installed_package(package) for package in HELD_OUT_PACKAGES]
        shares = [count // len(sources) + (i < count % len(sources)) for i in range(len(sources))]
        workspaces = tuple(
            Workspace(source, tuple(choose_sessions(source, share, seed)))
            for source, share in zip(sources, shares, strict=True)
        )
        sets.append(SessionSet(name, workspaces))
    return sets


def installed_package(package: str) -> SourceTree:
    """An installed package's folder, found through its distribution (never imported:
    the benchmark reads its files, it does not run it)."""
    root = Path(str(metadata.distribution(package).locate_file(package))).resolve()
    if not root.is_dir():
        raise SystemExit(f"{package} is not installed here: pip install -e '.[host,test]'")
    return SourceTree(package, metadata.version(package), root, root)


def _take_out(root: Path, session: Session) -> TypingPlan:
    """Remove ``session``'s hunk from its file under ``root``: the plan to type it back."""
    path = root / session.file
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first, count = session.first_line, session.block.count("\n")
    if first == 0 or lines[first : first + count] != session.block.splitlines(keepends=True):
        raise ValueError(f"{session.name}: the hunk is not where it was found")
    text = "".join(lines[:first] + lines[first + count :])
    path.write_text(text, encoding="utf-8")
    above = lines[first - 1].rstrip("\r\n")
    hunk_lines = []
    for line in session.block.splitlines():
        content = line.lstrip(" \t")
        hunk_lines.append((line[: len(line) - len(content)], content))
    start = types.Position(first - 1, len(above))
    return TypingPlan(session.name, path, text, start, tuple(hunk_lines), "".join(lines))

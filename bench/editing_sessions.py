"""The editing sessions the replay benchmarks type: blocks of real code cut from a source
tree, the keystrokes that type each back, and the document they are typed into.

A session is a block of 3 to 6 whole lines of consecutive statements in a function body
(the docstring left out), one per file, drawn with a seed. ``replay_sessions.py``,
``dialects.py`` (and so ``gpu_40b.py``) and ``line_starts.py`` (through
``line_start_sessions.py``) all type these same sessions, so their figures compare for the
same seed; that is why they are drawn in one place, and why the benchmarks that type them
with each answer awaited take the same ``--sessions``, ``--seed`` and ``--every`` options.
"""

from __future__ import annotations

import argparse
import ast
import random
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from recall_sources import SourceTree

MIN_LINES, MAX_LINES = 3, 6


@dataclass(frozen=True)
class Session:
    file: str  # relative to the workspace folder
    first_line: int  # 0-based: the first line of the block taken out
    block: str  # the lines taken out, each with its newline

    @property
    def name(self) -> str:
        return f"{self.file}:{self.first_line + 1}"


def add_session_arguments(parser: argparse.ArgumentParser, sessions: int) -> None:
    """``--sessions N`` (default ``sessions``), ``--seed`` and ``--every word|keystroke``."""
    parser.add_argument("--sessions", type=int, default=sessions)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", choices=("word", "keystroke"), default="word")


def blocks_in(source: SourceTree, path: Path) -> list[Session]:
    """Every block of 3 to 6 lines of consecutive statements in a function body (the
    docstring left out), in ASCII (so character offsets are UTF-16 positions too)."""
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    lines = text.splitlines(keepends=True)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        for i, first in enumerate(body):
            for last in body[i:]:
                end = last.end_lineno or last.lineno
                span = end - first.lineno + 1
                if span > MAX_LINES:
                    break
                block = "".join(lines[first.lineno - 1 : end])
                if span >= MIN_LINES and block.isascii() and block.endswith("\n"):
                    relative = path.relative_to(source.root).as_posix()
                    found.append(Session(relative, first.lineno - 1, block))
    return found


def choose_sessions(source: SourceTree, count: int, seed: int) -> list[Session]:
    """One block from each of ``count`` files, drawn with ``seed``."""
    rng = random.Random(seed)
    files = sorted(source.project.rglob("*.py"))
    rng.shuffle(files)
    sessions = []
    for path in files:
        blocks = blocks_in(source, path)
        if blocks:
            sessions.append(rng.choice(blocks))
        if len(sessions) == count:
            break
    return sessions


def keystrokes(block: str) -> tuple[str, list[str]]:
    """The block's first indentation (there when typing starts) and the keystrokes that
    type the rest of it: one character each, except Enter, which brings the next line's
    indentation along."""
    body = block.removesuffix("\n")
    indent = body[: len(body) - len(body.lstrip(" \t"))]
    keys: list[str] = []
    rest = body[len(indent) :]
    i = 0
    while i < len(rest):
        if rest[i] == "\n":
            end = i + 1
            while end < len(rest) and rest[end] in " \t":
                end += 1
            keys.append(rest[i:end])
            i = end
        else:
            keys.append(rest[i])
            i += 1
    return indent, keys


def opened_document(path: Path, first_line: int, block: str, indent: str) -> tuple[str, list[str]]:
    """The file with ``block`` (at 0-based ``first_line``) replaced by an empty line holding
    ``indent``, and the file's original lines."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    before = "".join(lines[:first_line])
    after = "".join(lines[first_line + block.count("\n") :])
    return before + indent + "\n" + after, lines


@dataclass(frozen=True)
class SessionDocument:
    """A session ready to type in a workspace copy, whose file on disk stays whole."""

    path: Path
    text: str  # the document as opened: the block replaced by an indented empty line
    lines: list[str]  # the file's original lines: what the author typed next
    start: types.Position  # where typing starts: after that indentation
    keys: list[str]  # the keystrokes that type the block back

    @property
    def uri(self) -> str:
        return self.path.as_uri()


def session_document(root: Path, session: Session) -> SessionDocument:
    """``session``'s document in the workspace folder ``root``."""
    path = root / session.file
    indent, keys = keystrokes(session.block)
    text, lines = opened_document(path, session.first_line, session.block, indent)
    start = types.Position(session.first_line, len(indent))
    return SessionDocument(path, text, lines, start, keys)

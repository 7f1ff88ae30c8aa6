"""How a prompt quotes a context piece, and names the files pieces come from.

Completions and code actions both put workspace code in front of the model, and the
model must see it the same way in both: a fenced block for chat models, and otherwise
comments in the file's own language, the way a base model has seen other code quoted.
Every piece is redacted here, so no caller can quote one unredacted.
"""

from __future__ import annotations

import posixpath
from functools import lru_cache
from pathlib import PurePath

from quill.context.candidates import ContextPiece
from quill.redaction import redact


class PathNames:
    """Paths as prompts show them: relative to their workspace folder."""

    def __init__(self, folders: tuple[str, ...], current: str) -> None:
        self._folders = [folder.rstrip("/") + "/" for folder in folders]
        self.repo = PurePath(folders[0]).name if folders else PurePath(current).parent.name

    def name(self, path: str) -> str:
        for folder in self._folders:
            if path.startswith(folder):
                return path[len(folder) :]
        return posixpath.basename(path)


def comment_mark(language: str) -> str:
    return "#" if language in ("python", "ruby", "shellscript", "perl", "r") else "//"


@lru_cache(maxsize=1024)  # the same pieces come back on every keystroke; redacting costs
def redacted_text(piece: ContextPiece) -> str:
    return redact(piece.text).rstrip("\n")


def as_fenced_block(language: str, path: str, piece: ContextPiece) -> str:
    """For chat models: the place, then the code in a Markdown fence."""
    return f"{_place(path, piece)}\n```{language}\n{redacted_text(piece)}\n```\n\n"


def as_comments(language: str, path: str, piece: ContextPiece) -> str:
    """For base models: the place and the code as comments of the current file's language."""
    mark = comment_mark(language)
    lines = [f"{mark} {line}".rstrip() for line in redacted_text(piece).split("\n")]
    return "\n".join([f"{mark} {_place(path, piece)}", *lines]) + "\n"


def _place(path: str, piece: ContextPiece) -> str:
    return f"{path}:{piece.start_line + 1}-{piece.end_line + 1}"

"""Which files of a workspace the index reads: source files that a person wrote.

Everything git ignores stays out (build output, vendored code, local config), matched by
pathspec's implementation of git's rules, as are secret files, binary files, huge files
and generated ones (minified bundles, protobuf output, files that say "do not edit").
Only files inside the workspace folders are ever read, and a symbolic link that leads
out of them is not followed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
from pathspec import GitIgnoreSpec

from quill.context.languages import language_for_path
from quill.gitignore import specs_in
from quill.redaction import is_secret_path

MAX_FILE_BYTES = 1_000_000
"""Larger files are data or generated code; parsing them would stall the scan."""

_SNIFF_BYTES = 8192

# Folders that hold no one's source, skipped even outside a git repository.
_SKIPPED_FOLDERS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".nox",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", ".idea", ".vscode", ".cache"}
)  # fmt: skip
_GENERATED_NAMES = re.compile(
    r"(\.min\.(js|mjs|css)|\.pb\.(go|cc|h)|_pb2(_grpc)?\.pyi?|\.generated\.\w+|\.g\.dart)$"
)
_GENERATED_MARKER = re.compile(
    rb"@generated|Code generated .{0,200}DO NOT EDIT"
    rb"|(?i:(?:this|the) file (?:is|was|has been) (?:automatically |auto-?)?generated)"
    rb"|(?i:auto-?generated .{0,80}do not (?:edit|modify))"
)
_MINIFIED_LINE_CHARS = 1000


@attrs.frozen
class SourceFile:
    path: str  # absolute
    language: str
    mtime_ns: int
    size: int


def source_files(folder: Path) -> Iterator[SourceFile]:
    """The indexable files under ``folder``, honouring every ``.gitignore`` on the way
    (and those above ``folder`` up to its repository's root)."""
    root = folder.resolve()
    inherited = _ancestor_rules(root)
    yield from _walk(root, root, inherited)


def indexable_file(path: Path, workspace_folders: list[Path]) -> SourceFile | None:
    """A single file (a save, a watched-file event) as the scan would see it, or
    ``None`` if it stays out: the same rules, checked along the one path from its
    workspace folder."""
    resolved = path.resolve()
    for folder in workspace_folders:
        root = folder.resolve()
        if not resolved.is_relative_to(root):
            continue
        rules = _ancestor_rules(root)
        parent = root
        for part in resolved.relative_to(root).parts[:-1]:
            rules = rules + _rules_in(parent)
            parent = parent / part
            if part in _SKIPPED_FOLDERS or _ignored(parent, rules, is_dir=True):
                return None
        rules = rules + _rules_in(parent)
        return None if _ignored(resolved, rules, is_dir=False) else _describe(resolved)
    return None


_Rules = tuple[tuple[Path, GitIgnoreSpec], ...]


def _walk(root: Path, folder: Path, rules: _Rules) -> Iterator[SourceFile]:
    rules = rules + _rules_in(folder)
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink() and not path.resolve().is_relative_to(root):
            continue  # a link out of the workspace
        if entry.is_dir():
            if entry.name not in _SKIPPED_FOLDERS and not _ignored(path, rules, is_dir=True):
                yield from _walk(root, path, rules)
        elif entry.is_file() and not _ignored(path, rules, is_dir=False):
            source = _describe(path)
            if source is not None:
                yield source


def _describe(path: Path) -> SourceFile | None:
    """The file as a ``SourceFile``, or ``None`` for what the index leaves out."""
    language = language_for_path(path.name)
    if language is None or is_secret_path(str(path)) or _GENERATED_NAMES.search(path.name):
        return None
    try:
        status = path.stat()
        if status.st_size > MAX_FILE_BYTES:
            return None
        with path.open("rb") as file:
            head = file.read(_SNIFF_BYTES)
    except OSError:
        return None
    if b"\0" in head or _GENERATED_MARKER.search(head[:1024]) or _looks_minified(head):
        return None
    return SourceFile(str(path), language, status.st_mtime_ns, status.st_size)


def _looks_minified(head: bytes) -> bool:
    lines = head.split(b"\n")
    return (
        len(head) == _SNIFF_BYTES
        and len(lines) > 0
        and len(head) / len(lines) > (_MINIFIED_LINE_CHARS)
    )


def _ignored(path: Path, rules: _Rules, *, is_dir: bool) -> bool:
    for base, spec in rules:
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        if spec.match_file(relative):
            return True
    return False


def _rules_in(folder: Path) -> _Rules:
    return tuple((folder, spec) for spec in specs_in(folder))


def _ancestor_rules(root: Path) -> _Rules:
    """The rules of the folders above ``root`` inside the same repository."""
    if (root / ".git").exists():
        return ()
    above: list[Path] = []
    for parent in root.parents:
        above.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return ()  # not inside a repository
    rules: _Rules = ()
    for parent in reversed(above):
        rules = rules + _rules_in(parent)
    return rules

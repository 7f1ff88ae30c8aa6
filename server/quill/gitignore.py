"""Files that git ignores stay out of prompts: build output, vendored code, local config.

The ``.gitignore`` files from the file's folder up to its repository root (the first folder
holding ``.git``), and ``.git/info/exclude``, are matched with pathspec's implementation of
git's rules. Outside a repository nothing is ignored. A file is ignored when any of them
ignores it; a negation (``!keep.py``) in a deeper ``.gitignore`` cannot re-include what a
higher one excludes, so the rule errs towards sending less.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pathspec import GitIgnoreSpec


def is_git_ignored(path: str) -> bool:
    """Whether git would ignore the file at ``path`` (an absolute file system path)."""
    file = Path(path)
    if not file.is_absolute():
        return False
    specs: list[tuple[Path, GitIgnoreSpec]] = []
    for folder in file.parents:
        specs.extend((folder, spec) for spec in specs_in(folder))
        if (folder / ".git").exists():
            break
    else:
        return False  # not inside a repository
    return any(spec.match_file(file.relative_to(folder).as_posix()) for folder, spec in specs)


def specs_in(folder: Path) -> list[GitIgnoreSpec]:
    """The rules a folder itself holds (its ``.gitignore``, and ``.git/info/exclude`` at a
    repository's root), each parsed once per version of its file."""
    specs = []
    for rules in (folder / ".gitignore", folder / ".git" / "info" / "exclude"):
        try:
            modified = rules.stat().st_mtime_ns
        except OSError:
            continue
        specs.append(_parse(rules, modified))
    return specs


@lru_cache(maxsize=256)
def _parse(rules: Path, modified: int) -> GitIgnoreSpec:
    """Parsed once per version of the file (the modification time is part of the key)."""
    return GitIgnoreSpec.from_lines(
        rules.read_text(encoding="utf-8", errors="replace").splitlines()
    )

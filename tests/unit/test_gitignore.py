from __future__ import annotations

import os
from pathlib import Path

from quill.gitignore import is_git_ignored


def test_rules_from_every_level_up_to_the_repository(tmp_path: Path) -> None:
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("scratch.py\n")
    (tmp_path / ".gitignore").write_text("dist/\n*.log\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / ".gitignore").write_text("/secret_local.py\n")
    assert is_git_ignored(str(tmp_path / "dist" / "bundle.js"))
    assert is_git_ignored(str(tmp_path / "pkg" / "debug.log"))
    assert is_git_ignored(str(tmp_path / "pkg" / "secret_local.py"))
    assert is_git_ignored(str(tmp_path / "scratch.py"))
    assert not is_git_ignored(str(tmp_path / "pkg" / "module.py"))
    assert not is_git_ignored(str(tmp_path / "pkg" / "sub" / "secret_local.py"))


def test_edits_to_a_gitignore_are_seen(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    rules = tmp_path / ".gitignore"
    rules.write_text("")
    assert not is_git_ignored(str(tmp_path / "gen.py"))
    rules.write_text("gen.py\n")
    os.utime(rules, ns=(1, 10**18))  # a new modification time, whatever the clock's grain
    assert is_git_ignored(str(tmp_path / "gen.py"))


def test_outside_a_repository_or_relative_nothing_is_ignored(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.py\n")
    assert not is_git_ignored(str(tmp_path / "x.py"))
    assert not is_git_ignored("relative/x.py")

"""The cache directory holds the shared host's address: only its owner may use it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from quill.paths import cache_dir


def test_the_cache_directory_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUILL_CACHE_DIR", str(tmp_path / "cache" / "quill"))
    old_umask = os.umask(0o022)
    try:
        path = cache_dir()
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        path.chmod(0o755)  # loosened by someone: put back on the next use
        assert stat.S_IMODE(cache_dir().stat().st_mode) == 0o700
    finally:
        os.umask(old_umask)

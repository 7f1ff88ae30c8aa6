"""Where Quill keeps its files: one private cache directory per user."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """The user's Quill cache directory (``QUILL_CACHE_DIR`` overrides), mode 0700.

    It holds the shared host's address and logs, which other users must not read or
    replace.
    """
    path = Path(os.environ.get("QUILL_CACHE_DIR") or platformdirs.user_cache_dir("quill"))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path

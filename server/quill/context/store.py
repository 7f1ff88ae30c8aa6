"""The index on disk (diskcache), so a restart does not re-parse unchanged files.

The store is a cache, never the truth: any failure reading it is a miss, and any
failure writing it is logged once and otherwise ignored. A corrupt store (a crash
mid-write, a half-deleted folder) is thrown away and rebuilt; a full disk leaves Quill
serving from memory. Several editor windows share one store: SQLite, under diskcache,
serialises their writes.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import diskcache

from quill.context.symbols import FileSymbols
from quill.context.workspace_files import SourceFile

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Part of every key: raise it when extraction changes, and old entries are never read."""

_SIZE_LIMIT_BYTES = 256 * 2**20
_SQLITE_TIMEOUT_S = 2.0  # another window holding the write lock: give up, do not stall
_STORE_ERRORS = (OSError, sqlite3.Error, diskcache.Timeout)


class SymbolStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: diskcache.Cache | None = None
        self._write_failed = False
        self._open()

    def get(self, source: SourceFile) -> FileSymbols | None:
        """The symbols stored for this exact version of the file (same size and
        modification time), or ``None``."""
        if self._cache is None:
            return None
        try:
            stored: Any = self._cache.get(self._key(source.path))
        except _STORE_ERRORS as error:
            self._recover(error)
            return None
        except Exception:  # an entry that no longer unpickles: a miss
            return None
        if (
            isinstance(stored, tuple)
            and len(stored) == 3
            and stored[:2] == (source.mtime_ns, source.size)
            and isinstance(stored[2], FileSymbols)
        ):
            return stored[2]
        return None

    def put(self, source: SourceFile, symbols: FileSymbols) -> None:
        if self._cache is None:
            return
        try:
            self._cache.set(self._key(source.path), (source.mtime_ns, source.size, symbols))
        except _STORE_ERRORS as error:
            if not self._write_failed:
                log.warning(
                    "the index cannot be saved in %s (%s): kept in memory", self.directory, error
                )
                self._write_failed = True
            if isinstance(error, sqlite3.DatabaseError) and not _is_full_or_busy(error):
                self._recover(error)

    def discard(self, path: str) -> None:
        if self._cache is None:
            return
        try:
            self._cache.delete(self._key(path))
        except _STORE_ERRORS as error:
            log.debug("could not drop %s from the index store: %s", path, error)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    @staticmethod
    def _key(path: str) -> str:
        return f"{FORMAT_VERSION}:{path}"

    def _open(self) -> None:
        for attempt in range(2):
            try:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                self._cache = diskcache.Cache(
                    str(self.directory),
                    size_limit=_SIZE_LIMIT_BYTES,
                    timeout=_SQLITE_TIMEOUT_S,
                    eviction_policy="least-recently-stored",
                )
                self._cache.get("probe")  # a corrupt database fails here, not later
                return
            except _STORE_ERRORS as error:
                self.close()
                if attempt == 0 and not _is_full_or_busy(error):
                    log.warning(
                        "the index store in %s is unusable (%s): rebuilding it",
                        self.directory,
                        error,
                    )
                    shutil.rmtree(self.directory, ignore_errors=True)
                    continue
                log.warning(
                    "no index store in %s (%s): the index lives in memory", self.directory, error
                )
                return

    def _recover(self, error: BaseException) -> None:
        """A read failed: a corrupt or deleted store is rebuilt from scratch."""
        if _is_full_or_busy(error):
            return
        log.warning("the index store in %s failed (%s): rebuilding it", self.directory, error)
        self.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        self._open()


def _is_full_or_busy(error: BaseException) -> bool:
    """Errors that say nothing about the store's health: retrying later may work."""
    if isinstance(error, diskcache.Timeout):
        return True
    message = str(error).lower()
    return any(word in message for word in ("full", "locked", "busy", "no space", "quota"))

"""The index on disk, so a restart does not re-parse unchanged files.

The store is a cache, never the truth: any failure reading it is a miss, and any
failure writing it is logged once and otherwise ignored. A corrupt store (a crash
mid-write, a half-deleted folder) is thrown away and rebuilt; a full disk leaves Quill
serving from memory. Past its size limit, the entries stored longest ago are dropped.

Reading a cache file must never run code: whoever can write the file (another program
of the user's, a synced or shared cache folder) would otherwise run code in the editor.
So the store holds plain data: one SQLite table (the standard library's ``sqlite3``) of
JSON text, which counts only if it structures cleanly and strictly into a
``FileSymbols``; anything else is a miss. (It replaces a diskcache store, which pickled
its values: a crafted cache file ran code when read, CVE-2025-69872. Even diskcache's
``JSONDisk`` would not do, as it unpickles any row whose ``mode`` column says so.)

Several editor windows (processes) share one store: SQLite's write-ahead log lets them
read while one writes, and a window that finds the store locked by another waits at
most ``_BUSY_TIMEOUT_S``, then goes on without it rather than stall its scan.
"""

from __future__ import annotations

import errno
import logging
import math
import shutil
import sqlite3
import threading
import time
from pathlib import Path

from quill.context.symbols import FileSymbols
from quill.context.symbols_json import decoded, encoded
from quill.context.workspace_files import SourceFile

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Part of every key: raise it when extraction changes, and old entries are never read."""

DATABASE_NAME = "symbols.sqlite3"
"""The store's file in its folder. Not diskcache's ``cache.db``: a store an older Quill
left in the same folder is never opened (its pickles are the very risk) and never
deleted (an older Quill in another window may still be using it)."""

SIZE_LIMIT_BYTES = 256 * 2**20
"""Past this, the entries stored longest ago are dropped (checked every ``_TRIM_EVERY``
writes and at open, not on each write)."""

_TRIM_EVERY = 200  # writes between two checks of the store's size
_TRIM_TO = 0.9  # a trim leaves the store at this share of its limit
_BUSY_TIMEOUT_S = 2.0  # another window holding the write lock: give up, do not stall
_STORE_ERRORS = (OSError, sqlite3.Error)
# What a file beside the database may be called: SQLite's write-ahead log, its shared
# memory index, and the rollback journal a crash may leave.
_COMPANION_SUFFIXES = ("", "-wal", "-shm", "-journal")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS symbols (
        path TEXT PRIMARY KEY,
        format INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        size INTEGER NOT NULL,
        stored_at REAL NOT NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS symbols_by_age ON symbols (stored_at)",
)


class SymbolStore:
    """Each file's ``FileSymbols``, kept for the file's exact version (path, size,
    modification time) and this ``FORMAT_VERSION``.

    Safe to share between threads (the scan and the saves of one window): one
    connection, used under a lock.
    """

    def __init__(self, directory: Path, size_limit_bytes: int = SIZE_LIMIT_BYTES) -> None:
        self.directory = directory
        self.database = directory / DATABASE_NAME
        self.size_limit_bytes = size_limit_bytes
        self._db: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None  # the database file's (device, inode)
        self._lock = threading.Lock()
        self._write_failed = False
        self._writes_since_trim = 0
        with self._lock:
            self._open()

    def get(self, source: SourceFile) -> FileSymbols | None:
        """The symbols stored for this exact version of the file (same size and
        modification time), or ``None``."""
        with self._lock:
            try:
                row = self._read(source)
            except _STORE_ERRORS as error:
                self._recover(error)
                return None
        if row is None:
            return None
        symbols = decoded(row[0])
        if symbols is None or symbols.language != source.language:
            return None
        return symbols

    def put(self, source: SourceFile, symbols: FileSymbols) -> None:
        data = encoded(symbols)
        with self._lock:
            if self._deleted():
                log.info("the index store in %s was deleted: starting a new one", self.directory)
                self._close()
                self._open()
            for attempt in range(2):
                if self._db is None:
                    return
                try:
                    self._write(source, data)
                except _STORE_ERRORS as error:
                    if attempt == 0 and not _transient(error):
                        self._recover(error)  # deleted or corrupt: a new store, then again
                        continue
                    if not self._write_failed:
                        log.warning(
                            "the index cannot be saved in %s (%s): kept in memory",
                            self.directory,
                            error,
                        )
                        self._write_failed = True
                    return
                break
            self._writes_since_trim += 1
            if self._writes_since_trim >= _TRIM_EVERY:
                self._trim()

    def discard(self, path: str) -> None:
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute("DELETE FROM symbols WHERE path = ?", (path,))
            except _STORE_ERRORS as error:
                log.debug("could not drop %s from the index store: %s", path, error)

    def close(self) -> None:
        with self._lock:
            self._close()

    # -- internals (called with the lock held) ---------------------------------------

    def _read(self, source: SourceFile) -> tuple[object] | None:
        if self._db is None:
            return None
        row: tuple[object] | None = self._db.execute(
            "SELECT data FROM symbols WHERE path = ? AND format = ? AND mtime_ns = ? AND size = ?",
            (source.path, FORMAT_VERSION, source.mtime_ns, source.size),
        ).fetchone()
        return row

    def _deleted(self) -> bool:
        """Whether the database file was deleted (or replaced) since it was opened.

        SQLite in WAL mode goes on writing to a deleted file without a word, and what it
        writes there is lost: one ``stat`` a write catches that.
        """
        if self._db is None:
            return False
        try:
            info = self.database.stat()
        except OSError:
            return True
        return (info.st_dev, info.st_ino) != self._identity

    def _write(self, source: SourceFile, data: str) -> None:
        assert self._db is not None
        self._db.execute(
            "INSERT OR REPLACE INTO symbols (path, format, mtime_ns, size, stored_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (source.path, FORMAT_VERSION, source.mtime_ns, source.size, time.time(), data),
        )

    def _trim(self) -> None:
        """Drop the entries stored longest ago while the store is past its limit.

        The size is the database's pages in use (free pages are reused, not counted):
        three pragmas that read its header, cheap enough to ask now and then.
        """
        self._writes_since_trim = 0
        if self._db is None:
            return
        try:
            used = self._used_bytes()
            if used <= self.size_limit_bytes:
                return
            (rows,) = self._db.execute("SELECT count(*) FROM symbols").fetchone()
            drop = math.ceil(rows * (1 - _TRIM_TO * self.size_limit_bytes / used))
            self._db.execute(
                "DELETE FROM symbols WHERE path IN"
                " (SELECT path FROM symbols ORDER BY stored_at LIMIT ?)",
                (drop,),
            )
            log.info(
                "the index store in %s passed its size: %d old entries dropped",
                self.directory,
                drop,
            )
        except _STORE_ERRORS as error:
            log.debug("could not trim the index store in %s: %s", self.directory, error)

    def _used_bytes(self) -> int:
        assert self._db is not None
        size, pages, free = (
            self._db.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_size", "page_count", "freelist_count")
        )
        return int(size * (pages - free))

    def _open(self) -> None:
        for attempt in range(2):
            try:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                self._db = _connect(self.database)
                info = self.database.stat()
                self._identity = (info.st_dev, info.st_ino)
                self._trim()
                return
            except _STORE_ERRORS as error:
                self._close()
                if attempt == 0 and not _transient(error):
                    log.warning(
                        "the index store in %s is unusable (%s): rebuilding it",
                        self.directory,
                        error,
                    )
                    self._delete()
                    continue
                log.warning(
                    "no index store in %s (%s): the index lives in memory", self.directory, error
                )
                return

    def _recover(self, error: BaseException) -> None:
        """A read or write failed: a corrupt store is thrown away and rebuilt; after any
        other failure (an I/O error, a vanished folder) it is only reopened, so that a
        store another window has just rebuilt under this one is not thrown away in turn."""
        if _transient(error):
            return
        corrupt = _corrupt(error)
        log.warning(
            "the index store in %s failed (%s): %s it",
            self.directory,
            error,
            "rebuilding" if corrupt else "reopening",
        )
        self._close()
        if corrupt:
            self._delete()
        self._open()

    def _delete(self) -> None:
        for suffix in _COMPANION_SUFFIXES:
            path = self.database.with_name(self.database.name + suffix)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _connect(database: Path) -> sqlite3.Connection:
    """A connection to the store, its table made if new; a file that is not such a
    store fails here, not at the first read."""
    db = sqlite3.connect(
        database,
        timeout=_BUSY_TIMEOUT_S,
        isolation_level=None,  # each statement its own transaction
        check_same_thread=False,  # the lock in SymbolStore serialises its use
    )
    try:
        _use_write_ahead_log(db)
        db.execute("PRAGMA synchronous = NORMAL")  # a crash may lose the last writes: a cache
        for statement in _SCHEMA:
            db.execute(statement)
        db.execute("SELECT path, format, mtime_ns, size, stored_at, data FROM symbols LIMIT 1")
    except BaseException:
        db.close()
        raise
    return db


def _use_write_ahead_log(db: sqlite3.Connection) -> None:
    """Switch a new database to WAL mode (an old one is in it already).

    The switch fails at once, without the busy timeout, while another window opening the
    new store switches it too: it is tried again until the timeout.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            code = getattr(error, "sqlite_errorcode", 0) & 0xFF
            if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _transient(error: BaseException) -> bool:
    """Errors that say nothing about the store's health: retrying later may work."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL)
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    message = str(error).lower()
    return any(word in message for word in ("full", "locked", "busy", "no space", "quota"))


def _corrupt(error: BaseException) -> bool:
    """Errors that say the file is not a sound store: delete it, do not just reopen it."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return isinstance(error, sqlite3.DatabaseError) and not isinstance(
        error, sqlite3.OperationalError
    )

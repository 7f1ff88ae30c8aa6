"""The index store: a cache of plain data that never runs code when read, gives back
exactly what was stored, and never costs the index anything when it breaks (corrupt,
deleted, full, shared by two windows, past its size)."""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quill.context import store as store_module
from quill.context.index import WorkspaceIndex
from quill.context.store import _TRIM_EVERY, DATABASE_NAME, FORMAT_VERSION, SymbolStore
from quill.context.symbols import FileSymbols, Import, Symbol, extract_symbols
from quill.context.symbols_json import encoded
from quill.context.workspace_files import SourceFile
from tests.unit import test_symbols as samples

# -- helpers ------------------------------------------------------------------------


def _workspace(root: Path, modules: int = 6) -> Path:
    root.mkdir(parents=True)
    (root / "pricing.py").write_text(
        'TAX_RATE = 0.2\n\n\ndef net_price(gross: float) -> float:\n    """Price without tax."""\n'
        "    return gross / (1 + TAX_RATE)\n"
    )
    for n in range(modules - 1):
        (root / f"mod_{n}.py").write_text(f"def function_{n}():\n    return {n}\n")
    return root


def _source(path: Path, language: str = "python") -> SourceFile:
    info = path.stat()
    return SourceFile(str(path), language, info.st_mtime_ns, info.st_size)


def _stored_file(tmp_path: Path) -> tuple[Path, SourceFile, FileSymbols]:
    """A store holding one real file's symbols: the store's folder, the file, its symbols."""
    root = _workspace(tmp_path / "ws", modules=1)
    source = _source(root / "pricing.py")
    symbols = extract_symbols((root / "pricing.py").read_text(), "python")
    store = SymbolStore(tmp_path / "store")
    store.put(source, symbols)
    store.close()
    return tmp_path / "store", source, symbols


def _overwrite_data(store_dir: Path, data: object) -> None:
    """Replace every entry's data, as someone able to write the cache folder could."""
    with sqlite3.connect(store_dir / DATABASE_NAME) as db:
        assert db.execute("UPDATE symbols SET data = ?", (data,)).rowcount == 1
    db.close()


def _used_bytes(database: Path) -> int:
    with sqlite3.connect(database) as db:
        size, pages, free = (
            db.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_size", "page_count", "freelist_count")
        )
    db.close()
    return int(size * (pages - free))


class _Touch:
    """A pickle that, once unpickled, has created ``marker``: code run by reading data."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


# -- nothing read from the store runs ---------------------------------------------------


@pytest.mark.parametrize("stored_as", ["blob", "text"])
def test_a_crafted_pickle_in_the_store_is_a_miss_and_never_runs(
    tmp_path: Path, stored_as: str
) -> None:
    payload = pickle.dumps(_Touch(tmp_path / "ran"))
    pickle.loads(payload).close()  # the payload is live: unpickled, it runs
    assert (tmp_path / "ran").exists()
    (tmp_path / "ran").unlink()

    store_dir, source, symbols = _stored_file(tmp_path)
    _overwrite_data(store_dir, payload if stored_as == "blob" else payload.decode("latin-1"))
    store = SymbolStore(store_dir)
    assert store.get(source) is None
    assert not (tmp_path / "ran").exists()
    store.put(source, symbols)  # and the store goes on working
    assert store.get(source) == symbols


_VALID_SYMBOLS = FileSymbols("python", (Symbol("f", "function", "def f():", None, 0, 1),))
_VALID = encoded(_VALID_SYMBOLS)
_SYMBOL = json.loads(_VALID)["symbols"][0]


def _with(**fields: Any) -> str:
    return json.dumps({"language": "python", "symbols": [{**_SYMBOL, **fields}]})


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("", id="empty"),
        pytest.param("not json", id="not JSON"),
        pytest.param(_VALID[:-5], id="cut short"),
        pytest.param("null", id="null"),
        pytest.param("[]", id="a list"),
        pytest.param('"python"', id="a string"),
        pytest.param("{}", id="no language"),
        pytest.param('{"language": 5}', id="language a number"),
        pytest.param('{"language": "python", "symbols": {"f": 1}}', id="symbols an object"),
        pytest.param('{"language": "python", "symbols": "abc"}', id="symbols a string"),
        pytest.param('{"language": "python", "symbols": [{"name": "f"}]}', id="symbol fields"),
        pytest.param(_with(start_line="0"), id="line a string"),
        pytest.param(_with(start_line=True), id="line a bool"),
        pytest.param(_with(start_line=0.5), id="line a float"),
        pytest.param(_with(docstring=7), id="docstring a number"),
        pytest.param(_with(container=["C"]), id="container a list"),
        pytest.param(_with(extra=1), id="an unknown field"),
        pytest.param(
            '{"language": "python", "imports": [{"module": "m", "names": "abc"}]}',
            id="names a string",
        ),
        pytest.param(
            '{"language": "python", "imports": [{"module": "m", "names": [1]}]}',
            id="a name a number",
        ),
        pytest.param('{"language": "python", "evil": 1}', id="an unknown key"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="deep nesting"),
        pytest.param(
            '{"language": "python", "symbols": ' + "[" * 50_000 + "]" * 50_000 + "}",
            id="deep nesting in a field",
        ),
        pytest.param(encoded(FileSymbols("rust")), id="another language"),
        pytest.param(_VALID.encode(), id="valid JSON as a BLOB"),
        pytest.param(42, id="a number"),
    ],
)
def test_data_of_the_wrong_shape_is_a_miss(tmp_path: Path, data: object) -> None:
    store_dir, source, _ = _stored_file(tmp_path)
    _overwrite_data(store_dir, data)
    assert SymbolStore(store_dir).get(source) is None


def test_valid_data_written_the_same_way_is_a_hit(tmp_path: Path) -> None:
    """The control for the two tests above: their route to the store does reach it."""
    store_dir, source, _ = _stored_file(tmp_path)
    _overwrite_data(store_dir, _VALID)
    assert SymbolStore(store_dir).get(source) == _VALID_SYMBOLS


def test_an_old_diskcache_store_in_the_folder_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An older Quill kept a diskcache ``cache.db`` (pickles) in the same folder: never
    read, never deleted (an older Quill in another window may still use it)."""
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    old = pickle.dumps(_Touch(tmp_path / "ran"))
    (store_dir / "cache.db").write_bytes(old)
    root = _workspace(tmp_path / "ws")
    with caplog.at_level(logging.WARNING):
        assert WorkspaceIndex(SymbolStore(store_dir)).scan([root]).parsed == 6
        assert WorkspaceIndex(SymbolStore(store_dir)).scan([root]).parsed == 0
    assert not (tmp_path / "ran").exists()
    assert (store_dir / "cache.db").read_bytes() == old
    assert caplog.text == ""


# -- what comes back is what went in ---------------------------------------------------

_SAMPLES = {
    "python": samples.PYTHON,
    "javascript": samples.JAVASCRIPT,
    "typescript": samples.TYPESCRIPT,
    "go": samples.GO,
    "rust": samples.RUST,
    "java": samples.JAVA,
    "c": samples.C,
    "cpp": samples.CPP,
}


def test_real_symbols_of_every_language_come_back_equal(tmp_path: Path) -> None:
    extracted = {language: extract_symbols(text, language) for language, text in _SAMPLES.items()}
    sources = {
        language: SourceFile(f"/ws/sample.{language}", language, 1_700_000_000_123_456_789, 99)
        for language in _SAMPLES
    }
    store = SymbolStore(tmp_path / "store")
    for language, symbols in extracted.items():
        store.put(sources[language], symbols)
    store.close()
    reopened = SymbolStore(tmp_path / "store")
    for language, symbols in extracted.items():
        assert reopened.get(sources[language]) == symbols, language
    # Every field was there to be lost.
    every_symbol = [s for symbols in extracted.values() for s in symbols.symbols]
    every_import = [i for symbols in extracted.values() for i in symbols.imports]
    assert any(s.docstring for s in every_symbol)
    assert any(s.container for s in every_symbol)
    assert any(s.outline for s in every_symbol)
    assert any(s.start_line != s.end_line for s in every_symbol)
    assert any(i.names for i in every_import)
    assert any(i.alias for i in every_import)


def test_only_the_same_version_of_the_file_is_a_hit(tmp_path: Path) -> None:
    store_dir, source, symbols = _stored_file(tmp_path)
    store = SymbolStore(store_dir)
    assert store.get(source) == symbols
    for other in (
        attrs.evolve(source, mtime_ns=source.mtime_ns + 1),
        attrs.evolve(source, size=source.size + 1),
        attrs.evolve(source, path=source.path + "x"),
        attrs.evolve(source, language="cpp"),
    ):
        assert store.get(other) is None, other


def test_another_format_version_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_dir, source, _ = _stored_file(tmp_path)
    monkeypatch.setattr(store_module, "FORMAT_VERSION", FORMAT_VERSION + 1)
    assert SymbolStore(store_dir).get(source) is None


_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=30)  # lone surrogates too
_OPTIONAL_TEXT = st.none() | _ANY_TEXT
_SYMBOLS = st.builds(
    FileSymbols,
    language=st.just("python"),
    symbols=st.lists(
        st.builds(
            Symbol,
            name=_ANY_TEXT,
            kind=_ANY_TEXT,
            signature=_ANY_TEXT,
            docstring=_OPTIONAL_TEXT,
            start_line=st.integers(),
            end_line=st.integers(),
            container=_OPTIONAL_TEXT,
            outline=_ANY_TEXT,
        ),
        max_size=5,
    ).map(tuple),
    imports=st.lists(
        st.builds(
            Import,
            module=_ANY_TEXT,
            names=st.lists(_ANY_TEXT, max_size=4).map(tuple),
            alias=_OPTIONAL_TEXT,
        ),
        max_size=5,
    ).map(tuple),
)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SymbolStore]:
    store = SymbolStore(tmp_path_factory.mktemp("store"))
    yield store
    store.close()


@settings(max_examples=150, deadline=None)
@given(symbols=_SYMBOLS)
def test_any_symbols_come_back_equal(shared_store: SymbolStore, symbols: FileSymbols) -> None:
    source = SourceFile("/ws/any.py", "python", 1, 2)
    shared_store.put(source, symbols)
    assert shared_store.get(source) == symbols


# -- a broken store costs the index nothing -------------------------------------------


def test_a_corrupt_store_is_rebuilt_at_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _workspace(tmp_path / "ws")
    store_dir = tmp_path / "store"
    first = SymbolStore(store_dir)
    WorkspaceIndex(first).scan([root])
    first.close()  # the window closed: everything is in the database file
    (store_dir / DATABASE_NAME).write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING):
        index = WorkspaceIndex(SymbolStore(store_dir))
        report = index.scan([root])
    assert report.parsed == 6
    assert index.lookup("net_price")
    assert "rebuilding" in caplog.text
    assert WorkspaceIndex(SymbolStore(store_dir)).scan([root]).parsed == 0  # usable again


def test_a_store_corrupted_while_open_is_rebuilt_at_the_next_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    symbols = extract_symbols(samples.PYTHON, "python")
    sources = [SourceFile(f"/ws/m{n}.py", "python", n, n) for n in range(50)]
    first = SymbolStore(tmp_path / "store")
    for source in sources:
        first.put(source, symbols)
    first.close()
    store = SymbolStore(tmp_path / "store")
    database = tmp_path / "store" / DATABASE_NAME
    with database.open("r+b") as file:  # all but the first page: the store opens fine
        file.seek(4096)
        file.write(b"this is not a database" * (database.stat().st_size // 22))
    with caplog.at_level(logging.WARNING):
        assert [store.get(source) for source in sources] == [None] * len(sources)
    assert caplog.text.count("rebuilding") == 1
    store.put(sources[0], symbols)
    assert SymbolStore(tmp_path / "store").get(sources[0]) == symbols  # rebuilt, and usable


@pytest.mark.parametrize("deleted", ["the folder", "the database file"])
def test_a_store_deleted_while_in_use_costs_nothing(tmp_path: Path, deleted: str) -> None:
    root = _workspace(tmp_path / "ws")
    store_dir = tmp_path / "store"
    index = WorkspaceIndex(SymbolStore(store_dir))
    index.scan([root])
    if deleted == "the folder":
        shutil.rmtree(store_dir)
    else:  # half-deleted: the write-ahead log and its index stay
        (store_dir / DATABASE_NAME).unlink()
    extra = root / "extra.py"
    extra.write_text("def extra():\n    pass\n")
    index.refresh(str(extra))
    assert index.lookup("extra")
    assert SymbolStore(store_dir).get(_source(extra)) is not None  # saved in a new store
    assert WorkspaceIndex(SymbolStore(store_dir)).scan([root]).files == 7


def _full_after_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own SQLITE_FULL: the database may not grow past its size at open."""
    connect = store_module._connect

    def full_connect(database: Path) -> sqlite3.Connection:
        db = connect(database)
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count = {pages}")
        return db

    monkeypatch.setattr(store_module, "_connect", full_connect)


def _full_by_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error that says only, in words, that the disk is full."""

    def full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SymbolStore, "_write", full)


@pytest.mark.parametrize("make_full", [_full_after_open, _full_by_message])
def test_a_full_disk_leaves_the_index_in_memory(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    make_full: Any,
) -> None:
    make_full(monkeypatch)
    root = _workspace(tmp_path / "ws", modules=40)
    with caplog.at_level(logging.WARNING):
        index = WorkspaceIndex(SymbolStore(tmp_path / "store"))
        report = index.scan([root])
    assert report.files == 40
    assert index.lookup("net_price")
    assert caplog.text.count("cannot be saved") == 1  # said once, not once a file
    assert "rebuilding" not in caplog.text  # a full disk is no sign of a broken store
    assert "failed" not in caplog.text


_WINDOW = """
import json, sys, time
from pathlib import Path
from quill.context.index import WorkspaceIndex
from quill.context.store import SymbolStore

root, store, ready, go = map(Path, sys.argv[1:])
index = WorkspaceIndex(SymbolStore(store))
ready.touch()
while not go.exists():
    time.sleep(0.005)
report = index.scan([root])
print(json.dumps({"files": len(index), "parsed": report.parsed,
                  "found": bool(index.lookup("function_198"))}))
"""


def test_two_windows_writing_one_store_at_once_both_finish(tmp_path: Path) -> None:
    """Two windows on two workspaces (the store is the user's, shared by every window):
    each parses and stores every file of its own, at the same moment as the other."""
    roots = [_workspace(tmp_path / f"ws{n}", modules=200) for n in range(2)]
    go = tmp_path / "go"
    windows = [
        subprocess.Popen(
            [sys.executable, "-c", _WINDOW, root, tmp_path / "store", tmp_path / f"ready{n}", go],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, root in enumerate(roots)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{n}").exists() for n in range(2)):
        assert time.monotonic() < deadline, "the windows did not start"
        time.sleep(0.01)
    go.touch()
    for window in windows:
        out, err = window.communicate(timeout=60)
        assert window.returncode == 0, err
        assert json.loads(out) == {"files": 200, "parsed": 200, "found": True}
        assert "index" not in err  # no warning: no write given up, no store rebuilt
    assert WorkspaceIndex(SymbolStore(tmp_path / "store")).scan(roots).parsed == 0


def test_one_store_serves_several_threads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A window's scan and its saves use one store from different threads."""
    store = SymbolStore(tmp_path / "store")
    symbols = extract_symbols(samples.PYTHON, "python")
    sources = [SourceFile(f"/ws/m{n}.py", "python", n, n) for n in range(400)]
    missed: list[str] = []

    def work(part: list[SourceFile]) -> None:
        for source in part:
            store.put(source, symbols)
            if store.get(source) != symbols:
                missed.append(source.path)

    threads = [threading.Thread(target=work, args=(sources[n::4],)) for n in range(4)]
    with caplog.at_level(logging.WARNING):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert missed == []
    assert caplog.text == ""
    assert all(SymbolStore(tmp_path / "store").get(source) == symbols for source in sources)


# -- the store's place and size -------------------------------------------------------


def test_the_store_folder_is_private(tmp_path: Path) -> None:
    SymbolStore(tmp_path / "cache" / "index")
    assert stat.S_IMODE((tmp_path / "cache" / "index").stat().st_mode) == 0o700


def test_the_store_drops_its_oldest_entries_past_its_size(tmp_path: Path) -> None:
    limit = 256 * 1024
    store = SymbolStore(tmp_path / "store", size_limit_bytes=limit)
    symbols = extract_symbols(samples.PYTHON, "python")
    sources = [SourceFile(f"/ws/m{n}.py", "python", n, n) for n in range(2 * _TRIM_EVERY)]
    for source in sources:
        store.put(source, symbols)
    database = tmp_path / "store" / DATABASE_NAME
    assert len(encoded(symbols)) * len(sources) > 2 * limit  # well past it, unless trimmed
    assert _used_bytes(database) <= limit
    assert store.get(sources[0]) is None  # the oldest went
    assert store.get(sources[-1]) == symbols  # the newest stayed
    store.close()
    reopened = SymbolStore(tmp_path / "store", size_limit_bytes=limit // 2)
    assert _used_bytes(database) <= limit // 2  # checked at open too
    assert reopened.get(sources[-1]) == symbols

"""The workspace index: every definition of the workspace, by name and by file.

Scanning runs in a worker thread, off the request path: a completion reads whatever the
index holds at that moment and never waits for it. Updates come one file at a time
(a buffer changed, a file saved, a watched file created or deleted). Each file's
symbols are parsed once per version: they are kept in a ``SymbolStore`` on disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

import attrs

from quill.context.modules import file_stems, lookup_stems, module_candidates
from quill.context.store import SymbolStore
from quill.context.symbols import FileSymbols, Import, Symbol, extract_symbols
from quill.context.workspace_files import (
    MAX_FILE_BYTES,
    SourceFile,
    indexable_file,
    source_files,
)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]  # (files done, files in all)
_BATCH_FILES = 32  # files parsed per round trip to a worker


@attrs.frozen
class IndexedSymbol:
    path: str
    symbol: Symbol


@attrs.frozen
class ScanReport:
    files: int
    parsed: int  # files parsed (the rest came from the store)
    seconds: float


class WorkspaceIndex:
    def __init__(self, store: SymbolStore | None = None) -> None:
        self.store = store
        self.folders: list[Path] = []
        self._lock = threading.Lock()
        self._files: dict[str, FileSymbols] = {}
        self._by_name: dict[str, list[IndexedSymbol]] = defaultdict(list)
        self._by_stem: dict[str, set[str]] = defaultdict(set)
        self._by_folder: dict[str, set[str]] = defaultdict(set)

    # -- building ------------------------------------------------------------------

    def scan(
        self,
        folders: Iterable[Path],
        on_progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        worker: ScanWorker | None = None,
    ) -> ScanReport:
        """Index every source file of ``folders`` (blocking: run it in a thread).

        ``worker`` lists and parses files elsewhere (a process: parsing holds the GIL,
        and a thread doing it would starve the event loop that answers the editor);
        without one, the work is done here.
        """
        started = time.perf_counter()
        worker = worker or LocalScanWorker()
        self.folders = [Path(folder) for folder in folders]
        sources = worker.list_sources(self.folders)
        missing = []
        for source in sources:
            stored = self.store.get(source) if self.store is not None else None
            if stored is None:
                missing.append(source)
            else:
                self._replace(source.path, stored)
        done = len(sources) - len(missing)
        batches = [missing[at : at + _BATCH_FILES] for at in range(0, len(missing), _BATCH_FILES)]
        for batch, results in zip(batches, worker.parse_batches(batches), strict=False):
            if should_stop():
                break
            for source, symbols in zip(batch, results, strict=True):
                if symbols is not None:
                    self._replace(source.path, symbols)
                    if self.store is not None:
                        self.store.put(source, symbols)
            done += len(batch)
            if on_progress is not None:
                on_progress(done, len(sources))
        seen = {source.path for source in sources}
        for path in [path for path in self._paths() if path not in seen]:
            self.remove(path)
        report = ScanReport(len(sources), len(missing), time.perf_counter() - started)
        log.info(
            "indexed %d files (%d parsed) in %.2f s", report.files, report.parsed, report.seconds
        )
        return report

    def update_text(self, path: str, text: str, language: str) -> None:
        """Re-index a file from its editor buffer (unsaved text: not stored on disk)."""
        if len(text) <= MAX_FILE_BYTES:
            self._replace(path, extract_symbols(text, language))

    def refresh(self, path: str) -> None:
        """Re-read one file from disk after a save or a file-system event: indexed
        again if it still belongs in the index, dropped otherwise."""
        source = indexable_file(Path(path), self.folders)
        if source is None:
            self.remove(path)
            if self.store is not None:
                self.store.discard(path)
            return
        self._index_source(source)

    def remove(self, path: str) -> None:
        with self._lock:
            self._forget(path)

    # -- reading -------------------------------------------------------------------

    def lookup(self, name: str) -> tuple[IndexedSymbol, ...]:
        with self._lock:
            return tuple(self._by_name.get(name, ()))

    def symbols_of(self, path: str) -> FileSymbols | None:
        with self._lock:
            return self._files.get(path)

    def resolve(self, importer: str, language: str, module: str) -> tuple[str, ...]:
        """The indexed files that ``module``, imported from ``importer``, names."""
        endings, absolute = module_candidates(language, importer, module)
        if not endings:
            return ()
        with self._lock:
            if absolute:
                return tuple(ending for ending in endings if ending in self._files)
            if language == "go":
                folder = endings[0].rstrip("/")
                return tuple(
                    path
                    for name in (folder.rsplit("/", 1)[-1],)
                    for path in self._by_folder.get(name, ())
                    if path.rsplit("/", 1)[0].endswith(folder)
                )
            candidates = {
                path
                for stem in lookup_stems(language, module)
                for path in self._by_stem.get(stem, ())
            }
            return tuple(sorted(path for path in candidates if path.endswith(endings)))

    def imported_files(self, path: str) -> frozenset[str]:
        """The indexed files that the imports of ``path`` (as indexed) name: the one
        resolution of a file's imports, which context ranking and hovers both read."""
        own = self.symbols_of(path)
        if own is None:
            return frozenset()
        return frozenset(
            file
            for imported in own.imports
            for file in self.resolve(path, own.language, imported.module)
        )

    def imported_names(self, path: str) -> dict[str, list[IndexedSymbol]]:
        """The workspace definitions the imports of ``path`` bring in, by the name they
        are bound to, in import order."""
        own = self.symbols_of(path)
        found: dict[str, list[IndexedSymbol]] = {}
        if own is None:
            return found
        for imported in own.imports:
            for entry in self.imported_definitions(path, own.language, imported):
                found.setdefault(entry.symbol.name, []).append(entry)
        return found

    def imported_definitions(
        self, importer: str, language: str, imported: Import
    ) -> list[IndexedSymbol]:
        """The workspace definitions an import brings into a file, by name; through a
        re-export too (a package's ``__init__.py`` importing the name from a module)."""
        found = []
        for name in imported.names:
            if name != "*":
                found += self._definitions_via(importer, language, imported.module, name)
        return found

    def _definitions_via(
        self, importer: str, language: str, module: str, name: str, hops: int = 2
    ) -> list[IndexedSymbol]:
        files = set(self.resolve(importer, language, module))
        defined = [entry for entry in self.lookup(name) if entry.path in files]
        if defined or hops == 0:
            return defined
        for file in sorted(files):
            symbols = self.symbols_of(file)
            for reexport in symbols.imports if symbols else ():
                if name in reexport.names:
                    return self._definitions_via(file, language, reexport.module, name, hops - 1)
        return []

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)

    # -- internals -----------------------------------------------------------------

    def _index_source(self, source: SourceFile) -> None:
        symbols = self.store.get(source) if self.store is not None else None
        if symbols is None:
            symbols = parse_source(source)
            if symbols is None:
                return
            if self.store is not None:
                self.store.put(source, symbols)
        self._replace(source.path, symbols)

    def _replace(self, path: str, symbols: FileSymbols) -> None:
        with self._lock:
            self._forget(path)
            self._files[path] = symbols
            for symbol in symbols.symbols:
                self._by_name[symbol.name].append(IndexedSymbol(path, symbol))
            for stem in file_stems(path):
                self._by_stem[stem].add(path)
            self._by_folder[_folder_name(path)].add(path)

    def _forget(self, path: str) -> None:
        old = self._files.pop(path, None)
        if old is None:
            return
        for name in {symbol.name for symbol in old.symbols}:
            kept = [entry for entry in self._by_name[name] if entry.path != path]
            if kept:
                self._by_name[name] = kept
            else:
                del self._by_name[name]
        for stem in file_stems(path):
            self._by_stem[stem].discard(path)
        self._by_folder[_folder_name(path)].discard(path)

    def _paths(self) -> list[str]:
        with self._lock:
            return list(self._files)


class ScanWorker(Protocol):
    """Where a scan lists and parses files."""

    def list_sources(self, folders: list[Path]) -> list[SourceFile]: ...

    def parse_batches(self, batches: list[list[SourceFile]]) -> Iterator[list[FileSymbols | None]]:
        """Each batch's symbols, in order (and lazily: a scan may stop early)."""
        ...


class LocalScanWorker:
    """Lists and parses in the calling thread (the command line, benchmarks, tests)."""

    def list_sources(self, folders: list[Path]) -> list[SourceFile]:
        return list_sources(folders)

    def parse_batches(self, batches: list[list[SourceFile]]) -> Iterator[list[FileSymbols | None]]:
        return map(parse_sources, batches)


def list_sources(folders: list[Path]) -> list[SourceFile]:
    return [source for folder in folders for source in source_files(folder)]


def parse_sources(sources: list[SourceFile]) -> list[FileSymbols | None]:
    """Symbols of each file (``None`` for a file that could not be read); module-level,
    so a worker process can run it."""
    return [parse_source(source) for source in sources]


def parse_source(source: SourceFile) -> FileSymbols | None:
    try:
        text = Path(source.path).read_bytes().decode("utf-8", "replace")
    except OSError:
        return None
    return extract_symbols(text, source.language)


def _folder_name(path: str) -> str:
    return path.rsplit("/", 2)[-2] if path.count("/") >= 2 else ""

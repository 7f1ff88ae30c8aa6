"""One workspace's context engine: its index, the edits made in it, and the prompt
context built from them. The language server and ``quill prompt`` share it."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from quill.context.candidates import ContextSources
from quill.context.index import (
    ProgressCallback,
    ScanReport,
    WorkspaceIndex,
    list_sources,
    parse_sources,
)
from quill.context.languages import language_of
from quill.context.prompt_context import PromptContext
from quill.context.recent_edits import RecentEdits
from quill.context.snippets import Buffer, SnippetFinder
from quill.context.store import SymbolStore
from quill.context.symbols import FileSymbols
from quill.context.workspace_files import SourceFile
from quill.paths import cache_dir
from quill.redaction import is_private_path

log = logging.getLogger(__name__)


class WorkspaceContext:
    def __init__(
        self,
        folders: list[Path],
        buffers: Callable[[], list[Buffer]] = list,
        store_dir: Path | None = None,
    ) -> None:
        self.folders = [folder.resolve() for folder in folders]
        # No folders, nothing to index: no store on disk either.
        store = SymbolStore(store_dir or cache_dir() / "index") if self.folders else None
        self.index = WorkspaceIndex(store)
        self.recent_edits = RecentEdits()
        self._stopping = False
        # Buffers waiting to be re-indexed once typing pauses, and the running updates.
        self.reindex_timers: dict[str, asyncio.TimerHandle] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        sources = ContextSources(
            index=self.index,
            buffers=lambda: [buffer for buffer in buffers() if not _private(buffer.path)],
            recent_edits=self.recent_edits,
            snippets=SnippetFinder(),
        )
        self.prompt_context = PromptContext(
            sources, folders=tuple(str(folder) for folder in self.folders)
        )

    async def scan(
        self, on_progress: ProgressCallback | None = None, *, in_process: bool = False
    ) -> ScanReport:
        """Index the workspace; requests go on meanwhile. The files are listed and
        parsed in a worker process (``in_process``: here, for one-shot commands): a
        thread would hold the GIL for seconds and stall the editor's requests."""
        if in_process:
            return await asyncio.to_thread(
                self.index.scan, self.folders, on_progress, lambda: self._stopping
            )
        with ProcessScanWorker() as worker:
            return await asyncio.to_thread(
                self.index.scan, self.folders, on_progress, lambda: self._stopping, worker
            )

    def contains(self, path: str) -> bool:
        return any(Path(path).is_relative_to(folder) for folder in self.folders)

    async def buffer_changed(self, path: str, language_id: str, text: str) -> None:
        """Re-index an open buffer (unsaved text) of the workspace."""
        language = language_of(language_id, path)
        if language is None or not self.contains(path) or _private(path):
            return
        await asyncio.to_thread(self.index.update_text, path, text, language)

    async def file_changed(self, path: str) -> None:
        """A file was saved, created, changed or deleted on disk."""
        if self.contains(path):
            await asyncio.to_thread(self.index.refresh, path)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run background work, kept referenced until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def close(self) -> None:
        self._stopping = True
        for handle in self.reindex_timers.values():
            handle.cancel()
        self.reindex_timers.clear()
        if self.index.store is not None:
            self.index.store.close()


@lru_cache(maxsize=1024)
def _private(path: str) -> bool:
    """Secret or git-ignored: such buffers never feed a prompt (checked once a path)."""
    return is_private_path(path)


class ProcessScanWorker:
    """A scan's listing and parsing, in worker processes that live as long as the scan.

    Half the machine's cores: the first scan of a big workspace finishes sooner, and the
    model host (often on the same machine) keeps the other half for completions.
    """

    def __enter__(self) -> ProcessScanWorker:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        workers = max(1, (os.cpu_count() or 2) // 2)
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(cancel_futures=True)

    def list_sources(self, folders: list[Path]) -> list[SourceFile]:
        return self._pool.submit(list_sources, folders).result()

    def parse_batches(self, batches: list[list[SourceFile]]) -> Iterator[list[FileSymbols | None]]:
        return self._pool.map(parse_sources, batches)

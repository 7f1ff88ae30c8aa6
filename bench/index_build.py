"""Index build on a real tree of about 2,000 source files, next to universal-ctags.

What is measured, on a copy of the tree (the benchmark edits files in it):

- cold build: ``WorkspaceIndex(SymbolStore(empty folder)).scan([tree])``, the median of
  ``--repeat`` runs, and files per second: parsed in this process, and as the server scans
  (``ProcessScanWorker``: a worker process started for the scan); and, as the floor under
  both, tree-sitter's parse of every file and nothing else;
- warm restart: a new index and store on the same store folder, nothing changed on disk
  (both ways);
- update after one save: a definition appended to a file on disk, then ``index.refresh(path)``
  (the median over ``--saves`` different files); and, for comparison, the same text re-indexed
  from an editor buffer (``index.update_text``);
- universal-ctags on the same files: ``ctags -R -f FILE --languages=...`` (the median of
  ``--repeat`` runs), and ``ctags -f - FILE`` for one file (the median over the same files);
- the peak RSS of the process that builds the index (``resource.getrusage``) and of the
  server's scan worker (its ``VmHWM``), and the store's size on disk.

Goals: a cold build (as the server scans) within twice ctags' time, an update after a save
within 50 ms. Each tree is measured in a fresh Python process, so its peak RSS is its own.
Files are in the page cache for both the index and ctags (the tree was just copied).

    python bench/index_build.py [--tree DIR] [--files 2000] [--repeat 3] [--saves 20] [--json]

Without ``--tree``: two trees cut from PyTorch's installed source (see ``sample_tree``): its
Python files, and its Python files with the C/C++ headers it ships.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench_stats import machine_line
from index_build_report import TreeResult, table
from process_memory import children_peak_rss_mb, own_peak_rss_mb
from quill.context import languages
from quill.context.index import WorkspaceIndex
from quill.context.store import SymbolStore
from quill.context.workspace import ProcessScanWorker
from quill.context.workspace_files import source_files
from sample_tree import (
    SampleTree,
    add_tree_arguments,
    copy_given_tree,
    copy_torch_python,
    copy_tree,
    torch_source,
)
from universal_ctags import ctags_cold, ctags_one_file, ctags_version

# What a save adds to a file: one new definition the index must then find by its name.
_APPENDED = {
    "python": "\n\ndef {name}() -> int:\n    return {n}\n",
    "javascript": "\nfunction {name}() {{ return {n}; }}\n",
    "javascriptreact": "\nfunction {name}() {{ return {n}; }}\n",
    "typescript": "\nfunction {name}(): number {{ return {n}; }}\n",
    "typescriptreact": "\nfunction {name}(): number {{ return {n}; }}\n",
    "go": "\nfunc {name}() int {{ return {n} }}\n",
    "rust": "\nfn {name}() -> i32 {{ {n} }}\n",
    "c": "\nint {name}(void) {{ return {n}; }}\n",
    "cpp": "\nint {name}() {{ return {n}; }}\n",
}
_JAVA_APPENDED = "\n// {name} = {n}\n"  # a Java method cannot stand outside its class


# -- one tree, in its own process ---------------------------------------------------


def measure(tree: SampleTree, work: Path, repeat: int, saves: int) -> TreeResult:
    baseline_rss = own_peak_rss_mb()
    store_dir = work / "store"
    cold = [_build(tree, store_dir, fresh=True, in_worker=False) for _ in range(repeat)]
    cold_server = [_build(tree, store_dir, fresh=True, in_worker=True) for _ in range(repeat)]
    warm = [_build(tree, store_dir, fresh=False, in_worker=False) for _ in range(repeat)]
    warm_server = [_build(tree, store_dir, fresh=False, in_worker=True) for _ in range(repeat)]
    parse_only_s = _parse_only(tree)

    store = SymbolStore(store_dir)
    index = WorkspaceIndex(store)
    index.scan([tree.root])
    held = [index.symbols_of(source.path) for source in tree.files]
    symbols = sum(len(file_symbols.symbols) for file_symbols in held if file_symbols is not None)

    picked = [tree.files[i * len(tree.files) // saves] for i in range(saves)]
    save_ms: list[float] = []
    buffer_ms: list[float] = []
    found = checked = 0
    for n, source in enumerate(picked):
        name = f"bench_saved_{n}"
        text = Path(source.path).read_text(encoding="utf-8", errors="replace")
        appended = _APPENDED.get(source.language, _JAVA_APPENDED).format(name=name, n=n)
        Path(source.path).write_text(text + appended, encoding="utf-8")
        started = time.perf_counter()
        index.refresh(source.path)
        save_ms.append((time.perf_counter() - started) * 1000)
        if source.language in _APPENDED:
            checked += 1
            found += any(entry.path == source.path for entry in index.lookup(name))
        started = time.perf_counter()
        index.update_text(source.path, text + appended + appended, source.language)
        buffer_ms.append((time.perf_counter() - started) * 1000)
    peak_rss = own_peak_rss_mb()
    store.close()

    ctags_s, ctags_files, ctags_tags = ctags_cold(tree, work / "tags", repeat)
    return TreeResult(
        name=tree.name,
        description=tree.describe(),
        files=len(tree.files),
        symbols=symbols,
        cold_s=[build.seconds for build in cold],
        cold_server_s=[build.seconds for build in cold_server],
        cold_parsed=cold[-1].parsed if cold else 0,
        parse_only_s=parse_only_s,
        warm_s=[build.seconds for build in warm],
        warm_server_s=[build.seconds for build in warm_server],
        warm_parsed=warm[-1].parsed if warm else 0,
        save_ms=save_ms,
        buffer_ms=buffer_ms,
        saves_found=found,
        saves_checked=checked,
        ctags_s=ctags_s,
        ctags_files=ctags_files,
        ctags_tags=ctags_tags,
        ctags_file_ms=[ctags_one_file(tree, Path(source.path)) for source in picked],
        baseline_rss_mb=baseline_rss,
        peak_rss_mb=peak_rss,
        worker_peak_rss_mb=max((build.worker_rss_mb for build in cold_server), default=0.0),
        store_mb=_folder_bytes(store_dir) / 2**20,
    )


@dataclass(frozen=True)
class Build:
    seconds: float  # the store's opening included
    parsed: int  # files parsed (not found in the store)
    worker_rss_mb: float = 0.0  # the scan worker's peak, when there was one


def _build(tree: SampleTree, store_dir: Path, *, fresh: bool, in_worker: bool) -> Build:
    """One scan of the tree on a new index. ``fresh``: from an empty store; ``in_worker``:
    parsed in a worker process started for the scan, as ``WorkspaceContext.scan`` does in
    the server."""
    if fresh:
        shutil.rmtree(store_dir, ignore_errors=True)
    started = time.perf_counter()
    store = SymbolStore(store_dir)
    worker_rss = 0.0
    try:
        if in_worker:
            with ProcessScanWorker() as worker:
                report = WorkspaceIndex(store).scan([tree.root], worker=worker)
                worker_rss = children_peak_rss_mb()
        else:
            report = WorkspaceIndex(store).scan([tree.root])
    finally:
        store.close()
    return Build(time.perf_counter() - started, report.parsed, worker_rss)


def _parse_only(tree: SampleTree) -> float:
    """Seconds tree-sitter alone takes to parse every file (read beforehand): the floor
    under any index built on it, in one process."""
    texts = [(Path(f.path).read_bytes(), f.language) for f in tree.files]
    started = time.perf_counter()
    for data, language in texts:
        languages.parser(language).parse(data)
    return time.perf_counter() - started


def _folder_bytes(folder: Path) -> int:
    return sum(
        (Path(parent) / name).stat().st_size
        for parent, _, names in os.walk(folder)
        for name in names
    )


# -- the trees, and a process for each ------------------------------------------------


def prepare_trees(work: Path, tree: Path | None, files: int) -> list[SampleTree]:
    if tree is not None:
        return [copy_given_tree(tree, work / "tree", files)]
    return [
        copy_torch_python(work / "python", files),
        copy_tree(torch_source(), work / "mixed", "torch, Python + C/C++", files),
    ]


def measure_in_child(tree: SampleTree, work: Path, repeat: int, saves: int) -> TreeResult:
    """Measure in a fresh interpreter, so that each tree's peak memory is its own."""
    command = [
        sys.executable, __file__, "--measure", str(tree.root), "--name", tree.name,
        "--work", str(work), "--repeat", str(repeat), "--saves", str(saves),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"measuring {tree.name} failed:\n{done.stderr}")
    return TreeResult(**json.loads(done.stdout))


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_tree_arguments(options)
    options.add_argument("--repeat", type=int, default=3)
    options.add_argument("--saves", type=int, default=20)
    options.add_argument("--json", action="store_true", help="print JSON instead of a table")
    options.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    options.add_argument("--name", help=argparse.SUPPRESS)
    options.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = options.parse_args()

    if args.measure is not None:
        tree = SampleTree(args.name, args.measure, tuple(source_files(args.measure)))
        args.work.mkdir(parents=True, exist_ok=True)
        print(json.dumps(asdict(measure(tree, args.work, args.repeat, args.saves))))
        return

    with tempfile.TemporaryDirectory(prefix="quill-index-bench-") as temporary:
        work = Path(temporary)
        trees = prepare_trees(work, args.tree, args.files)
        load_before = os.getloadavg()[0]
        results = []
        for number, tree in enumerate(trees):
            print(f"measuring {tree.name}: {tree.describe()}", file=sys.stderr)
            results.append(measure_in_child(tree, work / f"work-{number}", args.repeat, args.saves))
    if args.json:
        print(json.dumps([asdict(r) | r.summary() for r in results], indent=2))
        return
    print(f"{machine_line(load_before, os.getloadavg()[0])}; {ctags_version()}")
    print()
    print(table(results))


if __name__ == "__main__":
    main()

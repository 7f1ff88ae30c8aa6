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
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench_stats import markdown_table, median, percentile, verdict
from quill.context import languages
from quill.context.index import WorkspaceIndex
from quill.context.store import SymbolStore
from quill.context.workspace import ProcessScanWorker
from quill.context.workspace_files import source_files
from sample_tree import DEFAULT_FILES, SampleTree, copy_tree, torch_source

CTAGS = "/usr/bin/ctags"
BUILD_GOAL_RATIO = 2.0  # a cold build within twice ctags' time
UPDATE_GOAL_MS = 50.0

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


@dataclass
class TreeResult:
    name: str
    description: str
    files: int
    symbols: int
    cold_s: list[float]  # parsed in this process (``LocalScanWorker``)
    cold_server_s: list[float]  # as the server scans: in a worker process of its own
    cold_parsed: int
    parse_only_s: float  # tree-sitter's parse of every file, nothing else
    warm_s: list[float]
    warm_server_s: list[float]
    warm_parsed: int
    save_ms: list[float]
    buffer_ms: list[float]
    saves_found: int  # saved files whose new definition the index then held
    saves_checked: int
    ctags_s: list[float]
    ctags_files: int
    ctags_tags: int
    ctags_file_ms: list[float]
    baseline_rss_mb: float  # after the imports, before any scan
    peak_rss_mb: float
    worker_peak_rss_mb: float  # the server's scan worker process
    store_mb: float

    def summary(self) -> dict[str, Any]:
        cold, cold_server = median(self.cold_s), median(self.cold_server_s)
        ctags = median(self.ctags_s)
        return {
            "cold_s": cold,
            "files_per_s": self.files / cold,
            "cold_server_s": cold_server,
            "files_per_s_server": self.files / cold_server,
            "warm_s": median(self.warm_s),
            "warm_server_s": median(self.warm_server_s),
            "save_ms_p50": median(self.save_ms),
            "save_ms_max": max(self.save_ms, default=float("nan")),
            "buffer_ms_p50": median(self.buffer_ms),
            "ctags_s": ctags,
            "ctags_file_ms_p50": median(self.ctags_file_ms),
            "cold_over_ctags": cold / ctags,
            "cold_server_over_ctags": cold_server / ctags,
            # The goal is about what a user waits for: the scan as the server runs it.
            "build_goal_met": cold_server <= BUILD_GOAL_RATIO * ctags,
            "update_goal_met": median(self.save_ms) <= UPDATE_GOAL_MS,
        }


# -- one tree, in its own process ---------------------------------------------------


def measure(tree: SampleTree, work: Path, repeat: int, saves: int) -> TreeResult:
    baseline_rss = _peak_rss_mb()
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
    peak_rss = _peak_rss_mb()
    store.close()

    ctags_s, ctags_files, ctags_tags = _ctags_cold(tree, work / "tags", repeat)
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
        ctags_file_ms=[_ctags_one_file(tree, Path(source.path)) for source in picked],
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
                worker_rss = _children_peak_rss_mb()
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


def _ctags_cold(tree: SampleTree, tags: Path, repeat: int) -> tuple[list[float], int, int]:
    """ctags' time for the whole tree (each run from scratch), the files it says it
    read, and the tags it wrote."""
    times: list[float] = []
    files = 0
    for _ in range(repeat):
        tags.unlink(missing_ok=True)
        command = [CTAGS, "-R", "-f", str(tags), "--totals=yes", *tree.ctags_options()]
        started = time.perf_counter()
        done = subprocess.run([*command, str(tree.root)], capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        done.check_returncode()
        totals = [line for line in done.stderr.splitlines() if " files, " in line]
        files = int(totals[-1].split()[0]) if totals else 0
    with tags.open(encoding="utf-8", errors="replace") as lines:
        tag_count = sum(1 for line in lines if not line.startswith("!_"))
    return times, files, tag_count


def _ctags_one_file(tree: SampleTree, path: Path) -> float:
    command = [CTAGS, "-f", "-", *tree.ctags_options(), str(path)]
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return (time.perf_counter() - started) * 1000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _children_peak_rss_mb() -> float:
    """The largest peak RSS (``VmHWM``) among this process's living children.

    Not ``RUSAGE_CHILDREN``: a child started by fork and exec counts the parent's
    memory at the fork in its ``ru_maxrss``.
    """
    peak_kib = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent != os.getpid():
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak_kib = max(peak_kib, int(line.split()[1]))
    return peak_kib / 1024


def _folder_bytes(folder: Path) -> int:
    return sum(
        (Path(parent) / name).stat().st_size
        for parent, _, names in os.walk(folder)
        for name in names
    )


# -- the trees, and the table ----------------------------------------------------------


def prepare_trees(work: Path, tree: Path | None, files: int) -> list[SampleTree]:
    if tree is not None:
        return [copy_tree(tree.resolve(), work / "tree", tree.resolve().name, files)]
    torch = torch_source()
    return [
        copy_tree(torch, work / "python", "torch, Python", files, frozenset({"python"})),
        copy_tree(torch, work / "mixed", "torch, Python + C/C++", files),
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


def table(results: list[TreeResult]) -> str:
    rows: list[list[str]] = []

    def row(label: str, cell: Callable[[TreeResult, dict[str, Any]], str]) -> None:
        rows.append([label, *(cell(result, result.summary()) for result in results)])

    row("files (languages)", lambda r, s: r.description)
    row("definitions indexed / ctags tags", lambda r, s: f"{r.symbols:,} / {r.ctags_tags:,}")
    row(
        f"index cold build in this process, median of {len(results[0].cold_s)} (files/s)",
        lambda r, s: f"{s['cold_s']:.2f} s ({s['files_per_s']:,.0f}/s; {r.cold_parsed} parsed)",
    )
    row(
        "index cold build as the server scans (a worker process), median (files/s)",
        lambda r, s: f"{s['cold_server_s']:.2f} s ({s['files_per_s_server']:,.0f}/s)",
    )
    row(
        "tree-sitter parsing alone, every file, one process",
        lambda r, s: f"{r.parse_only_s:.2f} s ({r.parse_only_s / s['ctags_s']:.1f}x ctags)",
    )
    row(
        "index warm restart, nothing changed: this process / server's way",
        lambda r, s: f"{s['warm_s']:.2f} s / {s['warm_server_s']:.2f} s ({r.warm_parsed} parsed)",
    )
    row(
        f"index update after a save, median of {len(results[0].save_ms)} files (p90 / max)",
        lambda r, s: (
            f"{s['save_ms_p50']:.1f} ms ({percentile(r.save_ms, 90):.1f} / "
            f"{s['save_ms_max']:.1f}); new definition found in {r.saves_found}/{r.saves_checked}"
        ),
    )
    row("re-index from a buffer (update_text), median", lambda r, s: f"{s['buffer_ms_p50']:.1f} ms")
    row(
        f"ctags -R, cold, median of {len(results[0].ctags_s)}",
        lambda r, s: f"{s['ctags_s']:.2f} s ({r.ctags_files} files)",
    )
    row("ctags -f - FILE, one file, median", lambda r, s: f"{s['ctags_file_ms_p50']:.1f} ms")
    row(
        "index cold / ctags: this process / server's way",
        lambda r, s: f"{s['cold_over_ctags']:.1f}x / {s['cold_server_over_ctags']:.1f}x",
    )
    row(
        f"goal: cold build (server's way) <= {BUILD_GOAL_RATIO:g}x ctags",
        lambda r, s: verdict(s["build_goal_met"]),
    )
    row(f"goal: update <= {UPDATE_GOAL_MS:g} ms", lambda r, s: verdict(s["update_goal_met"]))
    row(
        "peak RSS: indexing process (after imports) / scan worker",
        lambda r, s: (
            f"{r.peak_rss_mb:.0f} MB ({r.baseline_rss_mb:.0f} MB) / {r.worker_peak_rss_mb:.0f} MB"
        ),
    )
    row("store on disk", lambda r, s: f"{r.store_mb:.1f} MB")
    return markdown_table(["", *(result.name for result in results)], rows)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--tree", type=Path, help="a source tree (copied first); default: torch")
    options.add_argument("--files", type=int, default=DEFAULT_FILES, help="0: all of them")
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
    print(
        f"machine: {os.cpu_count()} cores, load average (1 min) {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after; {_ctags_version()}"
    )
    print()
    print(table(results))


def _ctags_version() -> str:
    done = subprocess.run([CTAGS, "--version"], capture_output=True, text=True)
    return done.stdout.splitlines()[0] if done.stdout else "ctags"


if __name__ == "__main__":
    main()

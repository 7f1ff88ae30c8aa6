"""universal-ctags on a sample tree: the yardstick ``index_build.py`` sets the index against.

Owns how ctags is made to read the same files the index reads (its parser for each of the
index's languages, and the suffixes it would not map by default), and its two timings: the
whole tree from scratch (``ctags -R``), and one file (``ctags -f - FILE``).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from sample_tree import SampleTree

CTAGS = "/usr/bin/ctags"

# universal-ctags' parser for each of the index's languages.
CTAGS_LANGUAGES = {
    "python": "Python",
    "javascript": "JavaScript",
    "javascriptreact": "JavaScript",
    "typescript": "TypeScript",
    "typescriptreact": "TypeScript",
    "go": "Go",
    "rust": "Rust",
    "java": "Java",
    "c": "C",
    "cpp": "C++",
}
# Suffixes the index reads that ctags 5.9 does not map to the same language by default.
CTAGS_LANGMAPS = ("Python:+.pyi", "JavaScript:+.cjs", "TypeScript:+.mts.cts.tsx")


def ctags_options(languages: Iterable[str]) -> list[str]:
    """``--languages`` and ``--langmap`` options that make ctags read the files the index
    reads in ``languages`` (the index's names)."""
    wanted = {CTAGS_LANGUAGES[language] for language in languages}
    if wanted & {"C", "C++"}:
        wanted |= {"C", "C++"}  # ctags reads ``.h`` as C++, the index as C
    return [f"--languages={','.join(sorted(wanted))}"] + [
        f"--langmap={langmap}" for langmap in CTAGS_LANGMAPS if langmap.split(":")[0] in wanted
    ]


def ctags_cold(tree: SampleTree, tags: Path, repeat: int) -> tuple[list[float], int, int]:
    """ctags' time for the whole tree (each run from scratch), the files it says it
    read, and the tags it wrote."""
    times: list[float] = []
    files = 0
    for _ in range(repeat):
        tags.unlink(missing_ok=True)
        options = ctags_options(tree.languages)
        command = [CTAGS, "-R", "-f", str(tags), "--totals=yes", *options]
        started = time.perf_counter()
        done = subprocess.run([*command, str(tree.root)], capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        done.check_returncode()
        totals = [line for line in done.stderr.splitlines() if " files, " in line]
        files = int(totals[-1].split()[0]) if totals else 0
    with tags.open(encoding="utf-8", errors="replace") as lines:
        tag_count = sum(1 for line in lines if not line.startswith("!_"))
    return times, files, tag_count


def ctags_one_file(tree: SampleTree, path: Path) -> float:
    """Milliseconds ctags takes to tag one file of the tree, to standard output."""
    command = [CTAGS, "-f", "-", *ctags_options(tree.languages), str(path)]
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return (time.perf_counter() - started) * 1000


def ctags_version() -> str:
    done = subprocess.run([CTAGS, "--version"], capture_output=True, text=True)
    return done.stdout.splitlines()[0] if done.stdout else "ctags"

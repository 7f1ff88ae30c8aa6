"""A real source tree of about 2,000 files for the index benchmarks, copied to a temporary folder.

The default is PyTorch's own source as installed here (Python, plus the C/C++ headers it
ships): a large real project whose files import one another. Installed packages cannot be
indexed where they lie (pyenv's repository git-ignores ``versions/``), and the benchmarks
modify files, so the tree is always a copy: the source files of the folder (with the
``.gitignore`` files inside it), of which the index accepts some (it leaves out generated,
minified, binary and huge files). Of those, the first ``limit`` are kept, taken in turn
from each language, shallow folders first, so that a cut keeps a package's core modules.

The benchmarks on such a tree (``index_build.py``, ``context_overhead.py``) take the same
``--tree DIR`` and ``--files N`` options (``add_tree_arguments``) and copy a given tree or
torch's Python files the same way (``copy_given_tree``, ``copy_torch_python``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from quill.context.languages import language_for_path
from quill.context.workspace_files import SourceFile, source_files

DEFAULT_FILES = 2000
_SKIPPED = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".tox"})


@dataclass(frozen=True)
class SampleTree:
    name: str
    root: Path  # the copy
    files: tuple[SourceFile, ...]  # what the index accepts in it, in scan order

    @property
    def languages(self) -> Counter[str]:
        return Counter(source.language for source in self.files)

    @property
    def size_bytes(self) -> int:
        return sum(source.size for source in self.files)

    def describe(self) -> str:
        counts = ", ".join(f"{n} {language}" for language, n in self.languages.most_common())
        return f"{len(self.files)} files ({counts}), {self.size_bytes / 1e6:.1f} MB"


def torch_source() -> Path:
    """Where PyTorch is installed (found without importing it)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("torch is not installed here: pass --tree DIR")
    return Path(next(iter(spec.submodule_search_locations)))


def add_tree_arguments(parser: argparse.ArgumentParser) -> None:
    """``--tree DIR`` (default: torch) and ``--files N`` (0: all)."""
    parser.add_argument("--tree", type=Path, help="a source tree (copied first); default: torch")
    parser.add_argument("--files", type=int, default=DEFAULT_FILES, help="0: all of them")


def copy_given_tree(tree: Path, destination: Path, limit: int) -> SampleTree:
    """A tree given on the command line, every language of it, named after its folder."""
    source = tree.resolve()
    return copy_tree(source, destination, source.name, limit)


def copy_torch_python(destination: Path, limit: int) -> SampleTree:
    """The Python files of the installed torch."""
    return copy_tree(torch_source(), destination, "torch, Python", limit, frozenset({"python"}))


def copy_tree(
    source: Path,
    destination: Path,
    name: str,
    limit: int = DEFAULT_FILES,
    languages: frozenset[str] | None = None,
) -> SampleTree:
    """Copy the indexable files of ``source`` (at most ``limit``, 0 for all, of
    ``languages`` or all of them) to ``destination / source.name``."""
    staging = destination / ".staging" / source.name
    _copy_sources(source, staging)
    accepted = [
        file for file in source_files(staging) if languages is None or file.language in languages
    ]
    chosen = _choose(accepted, staging, limit)
    root = destination / source.name
    for file in chosen:
        relative = Path(file.path).relative_to(staging)
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(file.path, root / relative)
    shutil.rmtree(destination / ".staging")
    return SampleTree(name, root, tuple(source_files(root)))


def _copy_sources(source: Path, staging: Path) -> None:
    for folder, subfolders, names in os.walk(source):
        subfolders[:] = sorted(sub for sub in subfolders if sub not in _SKIPPED)
        target = staging / Path(folder).relative_to(source)
        for file_name in names:
            if file_name == ".gitignore" or language_for_path(file_name) is not None:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(folder) / file_name, target / file_name)


def _choose(files: list[SourceFile], root: Path, limit: int) -> list[SourceFile]:
    """Up to ``limit`` files, shallow ones first, taken from each language in turn."""
    if not limit or len(files) <= limit:
        return files
    by_language: dict[str, list[SourceFile]] = defaultdict(list)
    for file in files:
        by_language[file.language].append(file)
    for group in by_language.values():
        group.sort(key=lambda file: (len(Path(file.path).relative_to(root).parts), file.path))
    interleaved = [
        file for turn in zip_longest(*by_language.values()) for file in turn if file is not None
    ]
    return interleaved[:limit]

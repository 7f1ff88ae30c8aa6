"""Recall cases for the context engine, cut from real code: pip's own source.

The project is ``pip/_internal`` of the pip installed with Python (148 files at pip 23.2,
present on every machine, and full of imports between its own modules). Python's ``ast``
finds, in each file, the lines that use a name imported from another file of pip, after the
import: ``from pip._internal.x.y import name`` or a relative ``from ..y import name``,
resolved to the file that defines ``name`` as a top-level ``def`` or ``class`` (followed
through re-exports such as a package's ``__init__.py``, which the case then flags). A
case is the file cut just before such a line, the cursor at the line's first
non-blank character: the place where the author was about to write code that needs the
symbol's definition.

Cases are drawn at random with a fixed seed, at most ``--per-file`` per file and one per
(file, symbol), and written as JSON lines: paths relative to the workspace folder (the
``pip`` package folder), lines and columns 1-based. The benchmarks open a copy of that
folder (``copy_workspace``): where Python lives inside a git checkout that ignores it
(pyenv's ``versions/``), Quill rightly treats the installed files as private.

    python bench/make_recall_cases.py [--count 200] [--per-file 3] [--seed 0]
                                      [--out bench/data/recall_cases.jsonl]
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
from collections import Counter
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import pip

PACKAGE = "pip"
WORKSPACE = Path(pip.__file__).resolve().parent  # the workspace folder: site-packages/pip
PROJECT = WORKSPACE / "_internal"  # where cases are cut, and where definitions must lie
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "recall_cases.jsonl"
_MAX_REEXPORT_HOPS = 4


@dataclass(frozen=True)
class Definition:
    path: Path
    line: int  # 1-based: the ``def`` / ``class`` line (after any decorators)
    text: str  # that line, stripped
    reexported: bool  # reached through another module that re-exports the name


@dataclass(frozen=True)
class RecallCase:
    """A cursor where the next line uses ``symbol``, and where ``symbol`` is defined."""

    file: str  # relative to the workspace folder
    line: int  # 1-based: the file is cut just before this line ...
    column: int  # ... plus its indentation: the cursor is at this 1-based column
    line_text: str  # the line that was cut off, stripped (what the author wrote next)
    symbol: str  # the name as the file uses it
    definition_file: str  # relative to the workspace folder
    definition_line: int  # 1-based
    definition_text: str  # the ``def name(`` / ``class name`` line, stripped
    reexported: bool
    pip_version: str


@cache
def parsed(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


@cache
def source_lines(path: Path) -> tuple[str, ...]:
    return tuple(path.read_text(encoding="utf-8").splitlines())


def module_file(module: str) -> Path | None:
    """The file of a dotted module name inside the package, if there is one."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = WORKSPACE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def absolute_module(importer: Path, node: ast.ImportFrom) -> str | None:
    """The dotted name an ``ImportFrom`` names, relative imports resolved."""
    if node.level == 0:
        return node.module
    package = importer.parent.relative_to(WORKSPACE.parent).parts
    if node.level > 1:
        package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def imported_bindings(path: Path, tree: ast.Module) -> dict[str, tuple[str, str, int]]:
    """Names bound by ``from pkg import x [as y]`` anywhere in the file:
    local name → (module, name in that module, last line of the import)."""
    found: dict[str, tuple[str, str, int]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = absolute_module(path, node)
        if module is None or not module.startswith(PACKAGE + "."):
            continue
        for alias in node.names:
            if alias.name != "*":
                local = alias.asname or alias.name
                found.setdefault(local, (module, alias.name, node.end_lineno or node.lineno))
    return found


def top_level_definition(path: Path, name: str) -> int | None:
    tree = parsed(path)
    if tree is None:
        return None
    for node in tree.body:
        definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        if isinstance(node, definitions) and node.name == name:
            return node.lineno
    return None


def definition_of(module: str, name: str, hops: int = 0) -> Definition | None:
    """Where ``module``'s ``name`` is defined as a top-level def/class, following
    re-exports (``from .impl import name`` in the module) a few hops."""
    path = module_file(module)
    if path is None or hops > _MAX_REEXPORT_HOPS:
        return None
    line = top_level_definition(path, name)
    if line is not None:
        text = source_lines(path)[line - 1].strip()
        return Definition(path, line, text, reexported=hops > 0)
    tree = parsed(path)
    if tree is None:
        return None
    binding = imported_bindings(path, tree).get(name)
    if binding is None:
        return None
    return definition_of(binding[0], binding[1], hops + 1)


def header_end(tree: ast.Module) -> int:
    """The last line of the file's top-level imports."""
    ends = [
        node.end_lineno or node.lineno
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    return max(ends, default=0)


def cases_in(path: Path, version: str) -> list[RecallCase]:
    """Every candidate case of one file: one per line, the line's first imported name."""
    tree = parsed(path)
    if tree is None:
        return []
    bindings = imported_bindings(path, tree)
    lines = source_lines(path)
    after = header_end(tree)
    first_use: dict[int, ast.Name] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
            continue
        binding = bindings.get(node.id)
        if binding is None or node.lineno <= max(after, binding[2]):
            continue
        known = first_use.get(node.lineno)
        if known is None or node.col_offset < known.col_offset:
            first_use[node.lineno] = node
    cases = []
    for line, node in sorted(first_use.items()):
        module, name, _ = bindings[node.id]
        definition = definition_of(module, name)
        if definition is None or definition.path == path:
            continue
        if not definition.path.is_relative_to(PROJECT):
            continue
        text = lines[line - 1]
        cases.append(
            RecallCase(
                file=path.relative_to(WORKSPACE).as_posix(),
                line=line,
                column=len(text) - len(text.lstrip()) + 1,
                line_text=text.strip(),
                symbol=node.id,
                definition_file=definition.path.relative_to(WORKSPACE).as_posix(),
                definition_line=definition.line,
                definition_text=definition.text,
                reexported=definition.reexported,
                pip_version=version,
            )
        )
    return cases


def build_cases(count: int, per_file: int, seed: int) -> list[RecallCase]:
    """``count`` cases drawn with ``seed``, sorted by file and line."""
    files = sorted(PROJECT.rglob("*.py"))
    candidates = [case for path in files for case in cases_in(path, pip.__version__)]
    random.Random(seed).shuffle(candidates)
    chosen: list[RecallCase] = []
    per_file_taken: Counter[str] = Counter()
    symbols_taken: set[tuple[str, str]] = set()
    for case in candidates:
        if per_file_taken[case.file] >= per_file or (case.file, case.symbol) in symbols_taken:
            continue
        chosen.append(case)
        per_file_taken[case.file] += 1
        symbols_taken.add((case.file, case.symbol))
        if len(chosen) == count:
            break
    return sorted(chosen, key=lambda case: (case.file, case.line))


def write_cases(cases: list[RecallCase], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as file:
        for case in cases:
            file.write(json.dumps(asdict(case)) + "\n")


def copy_workspace(into: Path) -> Path:
    """A copy of the workspace folder under ``into`` (a checkout of pip's package, as a
    developer of pip would open it), outside any git repository that ignores it."""
    copy = into / PACKAGE
    shutil.copytree(WORKSPACE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def read_cases(path: Path) -> list[RecallCase]:
    with path.open(encoding="utf-8") as file:
        return [RecallCase(**json.loads(line)) for line in file if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--per-file", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    cases = build_cases(args.count, args.per_file, args.seed)
    write_cases(cases, args.out)
    files = len({case.file for case in cases})
    reexported = sum(case.reexported for case in cases)
    print(
        f"{len(cases)} cases from {files} files of pip {pip.__version__} "
        f"({reexported} through a re-export) → {args.out}"
    )


if __name__ == "__main__":
    main()

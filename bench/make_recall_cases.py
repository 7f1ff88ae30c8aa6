"""Recall cases for the context engine, cut from real code, in three sets.

  tuning      from pip 23.2.1 (``pip/_internal``): the ranking was tuned on these 200
  held-out    from ``torch/fx`` of the installed torch, which nobody tuned on
  unwritten   from ``torch/fx`` too, the import not yet written: the name the next line
              needs is imported in the real file, but that import is taken out of the
              text before the cursor, as when a user writes the code first and the import
              after

(``recall_sources.py`` says where each source comes from and why.) Python's ``ast`` finds,
in each file, the lines that use a name imported from another file of the project, after
that import: ``from pkg.x.y import name`` or a relative ``from ..y import name``, resolved
to the file that defines ``name`` as a top-level ``def`` or ``class`` (followed through
re-exports such as a package's ``__init__.py``, which the case then flags). Only lines
below the file's last top-level import qualify. A case is the file cut just before such a
line, the cursor at the line's first non-blank character: the place where the author was
about to write code that needs the symbol's definition.

What the text before the cursor holds (``cursor_text``): the file's real lines above the
cursor line, nothing added or moved. Because a case lies below the whole import block,
that block is the file's final one: it names the project names the rest of the file uses
(but for imports inside functions), the needed one included, so "imported but not used
yet" (which the ranking puts first) is a short list that holds the answer.
``pending_imports`` says how short: the project names the text before the cursor imports
and does not use yet. The unwritten set removes that hint: only lines that are the name's
first use in the file qualify, the name must be bound by one top-level ``from ... import``
and nothing else, and that import loses the name (``import_removed``: the statement's
lines, and what is left of it; nothing when the name was its only one). Unwritten cases
are drawn on their own, not paired with the held-out ones.

Each set is drawn at random with a fixed seed, at most ``--per-file`` cases per file and
one per (file, symbol), and written as JSON lines: paths relative to the package folder
(the workspace folder), lines and columns 1-based.

    python bench/make_recall_cases.py [--sets tuning held-out unwritten] [--count 200]
                                      [--per-file 3] [--seed 0] [--out-dir bench/data]
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from recall_sources import SourceTree, pip_source, torch_fx_source

DATA = Path(__file__).resolve().parent / "data"
DEFAULT_COUNT, DEFAULT_PER_FILE, DEFAULT_SEED = 200, 3, 0
_MAX_REEXPORT_HOPS = 4


@dataclass(frozen=True)
class CaseSet:
    name: str
    title: str  # what the report calls it
    source: Callable[[], SourceTree]
    import_written: bool  # False: the needed import is taken out of the prefix
    file_name: str  # in bench/data

    @property
    def path(self) -> Path:
        return DATA / self.file_name


CASE_SETS = {
    case_set.name: case_set
    for case_set in (
        CaseSet("tuning", "tuning (pip)", pip_source, True, "recall_tuning.jsonl"),
        CaseSet("held-out", "held-out (torch.fx)", torch_fx_source, True, "recall_held_out.jsonl"),
        CaseSet(
            "unwritten",
            "import not yet written (torch.fx)",
            torch_fx_source,
            False,
            "recall_unwritten.jsonl",
        ),
    )
}


@dataclass(frozen=True)
class Definition:
    path: Path
    line: int  # 1-based: the ``def`` / ``class`` line (after any decorators)
    text: str  # that line, stripped
    reexported: bool  # reached through another module that re-exports the name


@dataclass(frozen=True)
class RemovedImport:
    """The import statement that bound the needed name, as the prefix shows it instead."""

    line: int  # 1-based: the statement's first line ...
    end_line: int  # ... and its last
    left: str  # the statement without the name (one line, indented); "" if it goes whole


@dataclass(frozen=True)
class RecallCase:
    """A cursor where the next line uses ``symbol``, and where ``symbol`` is defined."""

    file: str  # relative to the package folder
    line: int  # 1-based: the file is cut just before this line ...
    column: int  # ... plus its indentation: the cursor is at this 1-based column
    line_text: str  # the line that was cut off, stripped (what the author wrote next)
    symbol: str  # the name as the file uses it
    definition_file: str  # relative to the package folder
    definition_line: int  # 1-based
    definition_text: str  # the ``def name(`` / ``class name`` line, stripped
    reexported: bool
    pending_imports: int  # project names imported before the cursor and not used yet
    import_removed: RemovedImport | None  # only in the unwritten set
    package: str
    version: str


@dataclass(frozen=True)
class Binding:
    """A name bound by a ``from <project module> import name [as local]``."""

    module: str  # absolute
    name: str  # in that module
    statement: ast.ImportFrom
    top_level: bool

    @property
    def end_line(self) -> int:
        return self.statement.end_lineno or self.statement.lineno


@cache
def parsed(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


@cache
def source_lines(path: Path) -> tuple[str, ...]:
    return tuple(path.read_text(encoding="utf-8").splitlines())


def module_file(source: SourceTree, module: str) -> Path | None:
    """The file of a dotted module name inside the package, if there is one."""
    parts = module.split(".")
    if parts[0] != source.package:
        return None
    base = source.root.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def absolute_module(source: SourceTree, importer: Path, node: ast.ImportFrom) -> str | None:
    """The dotted name an ``ImportFrom`` names, relative imports resolved."""
    if node.level == 0:
        return node.module
    package = importer.parent.relative_to(source.root.parent).parts
    if node.level > 1:
        package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def imported_bindings(source: SourceTree, path: Path, tree: ast.Module) -> dict[str, Binding]:
    """Names bound by ``from <project> import x [as y]`` anywhere in the file (the first
    such import of each name)."""
    top_level = {id(node) for node in tree.body}
    found: dict[str, Binding] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = absolute_module(source, path, node)
        if module is None or not module.startswith(source.package + "."):
            continue
        for alias in node.names:
            if alias.name != "*":
                binding = Binding(module, alias.name, node, id(node) in top_level)
                found.setdefault(alias.asname or alias.name, binding)
    return found


def import_count(tree: ast.Module) -> Counter[str]:
    """How many import aliases bind each local name, from any module."""
    counts: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                counts[alias.asname or alias.name.split(".", 1)[0]] += 1
    return counts


def top_level_definition(path: Path, name: str) -> int | None:
    tree = parsed(path)
    if tree is None:
        return None
    for node in tree.body:
        definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        if isinstance(node, definitions) and node.name == name:
            return node.lineno
    return None


def definition_of(source: SourceTree, module: str, name: str, hops: int = 0) -> Definition | None:
    """Where ``module``'s ``name`` is defined as a top-level def/class, following
    re-exports (``from .impl import name`` in the module) a few hops."""
    path = module_file(source, module)
    if path is None or hops > _MAX_REEXPORT_HOPS:
        return None
    line = top_level_definition(path, name)
    if line is not None:
        text = source_lines(path)[line - 1].strip()
        return Definition(path, line, text, reexported=hops > 0)
    tree = parsed(path)
    if tree is None:
        return None
    binding = imported_bindings(source, path, tree).get(name)
    if binding is None:
        return None
    return definition_of(source, binding.module, binding.name, hops + 1)


def header_end(tree: ast.Module) -> int:
    """The last line of the file's top-level imports."""
    ends = [
        node.end_lineno or node.lineno
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    return max(ends, default=0)


def first_load_lines(tree: ast.Module) -> dict[str, int]:
    """The first line where each name is read."""
    first: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            first[node.id] = min(first.get(node.id, node.lineno), node.lineno)
    return first


def without_name(statement: ast.ImportFrom, local: str) -> str:
    """The statement as one line, indented as it was, without the alias binding ``local``;
    "" when that alias was its only one."""
    rest = [alias for alias in statement.names if (alias.asname or alias.name) != local]
    if not rest:
        return ""
    shorter = ast.ImportFrom(module=statement.module, names=rest, level=statement.level)
    return " " * statement.col_offset + ast.unparse(shorter)


def cases_in(source: SourceTree, path: Path, import_written: bool) -> list[RecallCase]:
    """Every candidate case of one file: one per line, the line's first imported name
    (for the unwritten set, only where that line is the name's first use)."""
    tree = parsed(path)
    if tree is None:
        return []
    bindings = imported_bindings(source, path, tree)
    lines = source_lines(path)
    after = header_end(tree)
    first_use: dict[int, ast.Name] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
            continue
        binding = bindings.get(node.id)
        if binding is None or node.lineno <= max(after, binding.end_line):
            continue
        known = first_use.get(node.lineno)
        if known is None or node.col_offset < known.col_offset:
            first_use[node.lineno] = node
    first_loads = first_load_lines(tree)
    imports = import_count(tree)
    cases = []
    for line, node in sorted(first_use.items()):
        binding = bindings[node.id]
        definition = definition_of(source, binding.module, binding.name)
        if definition is None or definition.path == path:
            continue
        if not definition.path.is_relative_to(source.project):
            continue
        removed = None
        if not import_written:
            first_use_here = first_loads[node.id] == line
            if not (first_use_here and binding.top_level and imports[node.id] == 1):
                continue
            left = without_name(binding.statement, node.id)
            removed = RemovedImport(binding.statement.lineno, binding.end_line, left)
        pending = {
            name
            for name, other in bindings.items()
            if other.end_line < line and first_loads.get(name, line) >= line
        }
        pending.discard(node.id if removed else "")
        text = lines[line - 1]
        cases.append(
            RecallCase(
                file=path.relative_to(source.root).as_posix(),
                line=line,
                column=len(text) - len(text.lstrip()) + 1,
                line_text=text.strip(),
                symbol=node.id,
                definition_file=definition.path.relative_to(source.root).as_posix(),
                definition_line=definition.line,
                definition_text=definition.text,
                reexported=definition.reexported,
                pending_imports=len(pending),
                import_removed=removed,
                package=source.package,
                version=source.version,
            )
        )
    return cases


def build_cases(
    source: SourceTree, import_written: bool, count: int, per_file: int, seed: int
) -> list[RecallCase]:
    """``count`` cases drawn with ``seed``, sorted by file and line."""
    files = sorted(source.project.rglob("*.py"))
    candidates = [case for path in files for case in cases_in(source, path, import_written)]
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


def cursor_text(case: RecallCase, root: Path) -> str:
    """The text before the cursor: the file's lines above the case's line as they are
    (for an unwritten case, the import statement that bound the name shown without it),
    then the line's indentation."""
    lines = (root / case.file).read_text(encoding="utf-8").splitlines(keepends=True)
    above = lines[: case.line - 1]
    removed = case.import_removed
    if removed is not None:
        left = [removed.left + "\n"] if removed.left else []
        above = above[: removed.line - 1] + left + above[removed.end_line :]
    return "".join(above) + lines[case.line - 1][: case.column - 1]


def case_matches(case: RecallCase, source: SourceTree) -> bool:
    """Whether ``source`` still has the case's line, definition and import where it says."""
    if (case.package, case.version) != (source.package, source.version):
        return False
    try:
        lines = source_lines(source.root / case.file)
        definition = source_lines(source.root / case.definition_file)
        removed = case.import_removed
        import_there = removed is None or case.symbol in "".join(
            lines[removed.line - 1 : removed.end_line]
        )
        return (
            lines[case.line - 1].strip() == case.line_text
            and definition[case.definition_line - 1].strip() == case.definition_text
            and import_there
        )
    except (OSError, IndexError):
        return False


def write_cases(cases: list[RecallCase], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as file:
        for case in cases:
            file.write(json.dumps(asdict(case)) + "\n")


def read_cases(path: Path) -> list[RecallCase]:
    cases = []
    with path.open(encoding="utf-8") as file:
        for line in file:
            if line.strip():
                fields = json.loads(line)
                removed = fields.pop("import_removed")
                cases.append(
                    RecallCase(**fields, import_removed=removed and RemovedImport(**removed))
                )
    return cases


def load_cases(case_set: CaseSet) -> tuple[SourceTree, list[RecallCase]]:
    """The set's source and its cases: those of its file while they match the source,
    else drawn afresh with the defaults (in memory; the file is left alone)."""
    source = case_set.source()
    if case_set.path.is_file():
        cases = read_cases(case_set.path)
        if cases and all(case_matches(case, source) for case in cases):
            return source, cases
        print(
            f"{case_set.path} does not match {source.package} {source.version}: "
            "its cases are drawn again in memory"
        )
    cases = build_cases(
        source, case_set.import_written, DEFAULT_COUNT, DEFAULT_PER_FILE, DEFAULT_SEED
    )
    return source, cases


def describe(cases: list[RecallCase]) -> str:
    files = len({case.file for case in cases})
    reexported = sum(case.reexported for case in cases)
    pending = statistics.median(case.pending_imports for case in cases) if cases else 0
    return (
        f"{len(cases)} cases from {files} files ({reexported} through a re-export; "
        f"median {pending:g} project names imported and not used yet before the cursor)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=list(CASE_SETS), default=list(CASE_SETS))
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--per-file", type=int, default=DEFAULT_PER_FILE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out-dir", type=Path, default=DATA)
    args = parser.parse_args()
    for name in args.sets:
        case_set = CASE_SETS[name]
        source = case_set.source()
        cases = build_cases(source, case_set.import_written, args.count, args.per_file, args.seed)
        out = args.out_dir / case_set.file_name
        write_cases(cases, out)
        print(f"{name}: {describe(cases)} of {source.package} {source.version} → {out}")
        if source.note:
            print(f"  {source.note}")


if __name__ == "__main__":
    main()

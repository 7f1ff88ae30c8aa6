"""The language server's packages keep their plan: dependencies point one way (lsp →
completion and actions → context and backends → the shared ground), and no module imports
itself back through others. Read from the source's own imports, so a new arrow that breaks
the plan fails here before a reader has to find it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "server"
GROUND = frozenset(
    {"settings", "documents", "cursor", "edits", "paths", "redaction", "gitignore", "__init__"}
)
# What each part may import besides itself and the ground.
ALLOWED = {
    "ground": frozenset(),
    "context": frozenset(),
    "backends": frozenset(),
    "completion": frozenset({"context", "backends"}),
    "actions": frozenset({"context", "backends"}),
    "lsp": frozenset({"completion", "actions", "context", "backends"}),
    "doctor": frozenset({"completion", "backends", "context"}),
    "cli": frozenset({"lsp", "completion", "actions", "context", "backends", "doctor"}),
    "__main__": frozenset({"cli"}),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SERVER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in (SERVER / "quill").rglob("*.py")}


def _imports(path: Path, known: set[str]) -> set[str]:
    """The Quill modules ``path`` imports, TYPE_CHECKING imports and imports inside
    functions included: each is an arrow a reader must follow."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known and name.startswith("quill")}


def _part(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "ground"
    return "ground" if parts[1] in GROUND else parts[1]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, known) - {name} for name, path in modules.items()}


def test_every_module_belongs_to_a_part_of_the_plan() -> None:
    assert {_part(name) for name in _modules()} <= set(ALLOWED)


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_a_part_imports_only_what_the_plan_allows(part: str) -> None:
    graph = _graph()
    wrong = sorted(
        f"{module} -> {imported}"
        for module, imported_modules in graph.items()
        if _part(module) == part
        for imported in imported_modules
        if _part(imported) not in {part, "ground", *ALLOWED[part]}
    )
    assert wrong == []


def test_no_module_imports_itself_back() -> None:
    graph = _graph()
    # A package's face (``quill.context``) is not an arrow to all its modules.
    graph = {
        name: {i for i in imported if i in graph and _is_file(i)}
        for name, imported in graph.items()
    }
    circles = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph[module]):
            if state.get(imported) == 1:
                circles.append(" -> ".join([*path[path.index(imported) :], imported]))
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def _is_file(module: str) -> bool:
    return (SERVER / (module.replace(".", "/") + ".py")).is_file()

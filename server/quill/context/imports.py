"""Imports: what each import statement makes a file able to name, in every indexed language.

The index resolves a name used in one file to its definition in another through these
records, so each reader reduces its language's syntax (Python's ``from . import``, JavaScript's
clauses and ``require``, Go specs, Rust use trees, Java and C includes) to the same ``Import``:
the module as written, the names it binds, and an alias.
"""

from __future__ import annotations

from collections import deque

import attrs
from tree_sitter import Node

from quill.context.parsed_source import Captures, Source, first_named


@attrs.frozen
class Import:
    """One import statement's effect on the file's names."""

    module: str  # as written: "pkg.mod", ".sibling", "./util", "fmt", "std::collections", "stdio.h"
    names: tuple[str, ...] = ()  # names it binds (after aliasing); () for a whole-module import
    alias: str | None = None  # ``import numpy as np`` → "np"


# --- Readers: one per family, on one import statement each.


def _unquoted(text: str) -> str:
    """A module path without the quotes or brackets it was written in."""
    return text.strip().strip("\"'`<>")


def python_imports(source: Source, node: Node) -> list[Import]:
    """``import a.b as c`` (one Import per module) and ``from .x import y as z``."""
    bound: list[tuple[str, str | None]] = []
    for name in node.children_by_field_name("name"):
        if name.type == "aliased_import":
            original = source.text(name.child_by_field_name("name"))
            bound.append((original, source.text(name.child_by_field_name("alias"))))
        elif name.type == "dotted_name":
            bound.append((source.text(name), None))
    if node.type == "import_statement":
        return [Import(module, alias=alias) for module, alias in bound if module]
    if node.type == "future_import_statement":
        module = "__future__"
    else:
        module = source.text(node.child_by_field_name("module_name"))
    names = [alias or original for original, alias in bound]
    if any(child.type == "wildcard_import" for child in node.named_children):
        names = ["*"]
    return [Import(module, tuple(names))] if module else []


def js_imports(source: Source, node: Node) -> list[Import]:
    """``import x, {a as b} from 'm'``, ``import * as ns``, and ``export ... from``."""
    module_node = node.child_by_field_name("source")
    names: list[str] = []
    alias: str | None = None
    for part in node.named_children:
        if part.type in ("import_clause", "export_clause", "named_imports"):
            names.extend(_js_clause_names(source, part))
            alias = _js_namespace(source, part) or alias
        elif part.type == "namespace_export":  # ``export * as ns from 'm'``
            alias = source.text(first_named(part))
        elif part.type == "import_require_clause":  # TypeScript's ``import x = require('m')``
            module_node = part.child_by_field_name("source")
            alias = source.text(first_named(part))
    if node.type == "export_statement" and not names and alias is None:
        names = ["*"]  # ``export * from 'm'``
    module = _unquoted(source.text(module_node))
    return [Import(module, tuple(names), alias)] if module else []


def _js_clause_names(source: Source, clause: Node) -> list[str]:
    """The names an import or export clause binds: the default and each ``a as b``."""
    names: list[str] = []
    for part in clause.named_children:
        if part.type == "identifier":
            names.append(source.text(part))
        elif part.type in ("import_specifier", "export_specifier"):
            bound = part.child_by_field_name("alias") or part.child_by_field_name("name")
            names.append(source.text(bound))
        elif part.type == "named_imports":
            names.extend(_js_clause_names(source, part))
    return [name for name in names if name]


def _js_namespace(source: Source, clause: Node) -> str | None:
    """The ``ns`` of ``import * as ns``, if the clause has one."""
    for part in clause.named_children:
        if part.type == "namespace_import":
            return source.text(first_named(part)) or None
    return None


def require_imports(source: Source, node: Node, captures: Captures) -> list[Import]:
    """``const {a, b: c} = require('m')`` binds a and c; ``const m = require('m')`` m."""
    module = _unquoted(source.text(captures["source"][0]))
    target = captures["name"][0]
    if target.type == "identifier":
        return [Import(module, alias=source.text(target))]
    names = []
    for part in target.named_children:
        if part.type == "pair_pattern":  # ``b: c`` binds c
            part = part.child_by_field_name("value") or part
        elif part.type == "rest_pattern":  # ``...rest`` binds rest
            part = first_named(part) or part
        names.append(source.text(part))
    return [Import(module, tuple(names))]


def go_imports(source: Source, node: Node) -> list[Import]:
    """``import "fmt"`` and ``import f "fmt"``, one import spec each."""
    module = _unquoted(source.text(node.child_by_field_name("path")))
    alias = node.child_by_field_name("name")
    return [Import(module, alias=source.text(alias) if alias else None)] if module else []


def rust_imports(source: Source, node: Node) -> list[Import]:
    """``use a::b::{c, d as e};`` → ``Import("a::b", ("c", "e"))``; nested lists flattened."""
    names: dict[str, list[str]] = {}  # module -> names, in source order
    whole: list[Import] = []
    pending = deque([("", node.child_by_field_name("argument"))])
    while pending:
        prefix, item = pending.popleft()
        if item is None:
            continue
        if item.type in ("scoped_use_list", "use_list"):
            path = source.text(item.child_by_field_name("path"))
            inner = _joined(prefix, path)
            items = item.child_by_field_name("list") if item.type == "scoped_use_list" else item
            pending.extend((inner, child) for child in (items.named_children if items else []))
            continue
        module, name, alias = _rust_use_item(source, prefix, item)
        if name is None:
            whole.append(Import(module, alias=alias))
        else:
            names.setdefault(module, []).append(name)
    return [Import(module, tuple(bound)) for module, bound in names.items() if module] + whole


def _rust_use_item(source: Source, prefix: str, item: Node) -> tuple[str, str | None, str | None]:
    """``(module, bound name, alias)`` of one item in a use tree; name None: the whole module."""
    alias = None
    if item.type == "use_as_clause":
        alias = source.text(item.child_by_field_name("alias"))
        item = item.child_by_field_name("path") or item
    if item.type == "use_wildcard":
        return _joined(prefix, source.text(first_named(item))), "*", None
    if item.type == "self":
        return prefix, alias or prefix.rsplit("::", 1)[-1], None
    if item.type == "scoped_identifier":
        path = _joined(prefix, source.text(item.child_by_field_name("path")))
        return path, alias or source.text(item.child_by_field_name("name")), None
    text = source.text(item)
    if not prefix:
        return text, None, alias  # ``use serde;`` / ``use serde as s;``
    return prefix, alias or text, None


def _joined(prefix: str, path: str) -> str:
    """Two pieces of a Rust path joined by ``::``, either of which may be empty."""
    return f"{prefix}::{path}" if prefix and path else prefix or path


def java_imports(source: Source, node: Node) -> list[Import]:
    """``import a.b.C;`` binds C; ``import a.b.*;`` everything (static imports alike)."""
    path = next((c for c in node.named_children if "identifier" in c.type), None)
    module = source.text(path)
    if not module:
        return []
    if any(child.type == "asterisk" for child in node.named_children):
        return [Import(module, ("*",))]
    return [Import(module, (module.rsplit(".", 1)[-1],))]


def c_imports(source: Source, node: Node) -> list[Import]:
    """``#include <stdio.h>`` and ``#include "util.h"``: a whole header each."""
    module = _unquoted(source.text(node.child_by_field_name("path")))
    return [Import(module)] if module else []

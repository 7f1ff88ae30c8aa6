"""The facts the workspace index keeps of one source file: its definitions and imports.

``extract_symbols`` parses once and runs one compiled tree-sitter query per language: only
the matches (definitions, imports, and the anonymous functions that hide local definitions)
reach Python, and node text is decoded only where a symbol needs it. Parsing is most of the
cost; the query's walk of the tree adds about a third to it, and Python's work grows with
the number of symbols, not with the size of the file.
"""

from __future__ import annotations

import inspect
import re
from collections import deque
from collections.abc import Callable, Iterator
from functools import cache

import attrs
import tree_sitter
from tree_sitter import Node

from quill.context import languages


@attrs.frozen
class Symbol:
    """One definition, with the text a prompt or a hover shows of it."""

    name: str
    kind: str  # function, method, class, struct, interface, type, enum, constant, variable, macro
    signature: str  # the header, e.g. ``def mean(values: list[float]) -> float:``
    docstring: str | None  # doc comment or docstring, without comment markers / quotes
    start_line: int  # 0-based, inclusive
    end_line: int  # 0-based, inclusive
    container: str | None = None  # the enclosing class/impl/struct for methods and fields
    outline: str = ""  # a compact source excerpt for prompts (see extract_symbols)


@attrs.frozen
class Import:
    """One import statement's effect on the file's names."""

    module: str  # as written: "pkg.mod", ".sibling", "./util", "fmt", "std::collections", "stdio.h"
    names: tuple[str, ...] = ()  # names it binds (after aliasing); () for a whole-module import
    alias: str | None = None  # ``import numpy as np`` → "np"


@attrs.frozen
class FileSymbols:
    language: str
    symbols: tuple[Symbol, ...] = ()
    imports: tuple[Import, ...] = ()


Captures = dict[str, list[Node]]

SIGNATURE_CHARS = 300
OUTLINE_CHARS = 1500
FULL_FUNCTION_LINES = 12  # a longer function shows only its header and docstring
CLASS_OUTLINE_LINES = 40
CONSTANT_LINES = 3

# Kinds whose members name them as their container (and whose outline lists the members).
_CONTAINER_KINDS = frozenset({"class", "struct", "interface", "enum"})
_FUNCTION_KINDS = frozenset({"function", "method"})


@attrs.frozen
class _Family:
    """How one family of grammars writes definitions, doc comments and imports."""

    query: str
    imports: Callable[[_Source, Node], list[Import]]
    # Parents that are part of the definition as written (``export``, decorators, templates).
    wrappers: frozenset[str] = frozenset()
    comments: frozenset[str] = frozenset({"comment"})
    # Nodes that may stand between a doc comment and its definition (Rust attributes).
    between_doc: frozenset[str] = frozenset()
    # Member nodes that are functions: a class outline shows their signature.
    functions: frozenset[str] = frozenset()
    # Nodes inside a class body that hold further members (Java's enum body declarations).
    member_lists: frozenset[str] = frozenset({"field_declaration_list"})
    python: bool = False


@attrs.define
class _Candidate:
    """A query match on its way to becoming a ``Symbol`` (or a scope hiding other matches)."""

    node: Node  # the definition node itself
    anchor: Node  # the definition as written: with its ``export``, decorators or template
    kind: str | None  # None: a scope only (an ``impl`` block, an anonymous function)
    name: str
    body: Node | None
    container: str | None = None  # known from the definition itself (Go receivers, ``A::f``)
    # What it is to matches inside it: "container" (their container), "opaque" (they are
    # local, left out) or "none" (transparent).
    scope: str = "opaque"
    prototype: bool = False  # a C declaration, dropped when the file also defines it


class _Source:
    """The parsed bytes of one file, decoded lazily, piece by piece."""

    def __init__(self, data: bytes, family: _Family) -> None:
        self.data = data
        self.family = family

    def text(self, node: Node | None) -> str:
        if node is None:
            return ""
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def indent(self, node: Node) -> str | None:
        """The whitespace before ``node`` on its line; None when code comes first."""
        prefix = self.data[node.start_byte - node.start_point.column : node.start_byte]
        if prefix and not prefix.isspace():
            return None
        return prefix.decode("utf-8", "replace")

    def excerpt(self, start: Node, end: int, base: str) -> str:
        """The text from ``start``'s line to byte ``end``, dedented by ``base``."""
        begin = start.start_byte
        column = start.start_point.column
        prefix = self.data[begin - column : begin]
        if not prefix or prefix.isspace():
            begin -= column
        text = self.data[begin:end].decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        return _margin(len(base)).sub("", text) if base else text

    def header_end(self, node: Node, body: Node | None) -> int | None:
        """Where the header before ``body`` ends: after Python's ``:``, before a ``{``.

        None when the body is not a block (a Rust tuple struct's ``(f64)``).
        """
        if body is None:
            return None
        if self.family.python:
            colon = body.prev_sibling
            while colon is not None and colon.type != ":":
                colon = colon.prev_sibling
            return colon.end_byte if colon is not None else body.start_byte
        brace = self.data.find(b"{", body.start_byte, body.end_byte)
        return brace if brace >= 0 else None

    def signature(self, node: Node, end_node: Node, body: Node | None) -> str:
        """The header from ``node`` up to the body, or all of a body-less ``end_node``."""
        header_end = self.header_end(node, body)
        if body is None or header_end is None:
            text = self.data[node.start_byte : end_node.end_byte].decode("utf-8", "replace")
            return _one_line(text.rstrip().removesuffix(";"))
        text = self.data[node.start_byte : header_end].decode("utf-8", "replace")
        after = self.data[body.end_byte : end_node.end_byte].decode("utf-8", "replace")
        after = after.strip().removesuffix(";").strip()
        if after:  # ``typedef struct { ... } point_t``
            text = f"{text.rstrip()} {{ ... }} {after}"
        return _one_line(text)


def _dedent(line: str, base: str) -> str:
    """``line`` without up to ``len(base)`` leading blanks (less if it is indented less)."""
    blanks = len(line) - len(line.lstrip(" \t"))
    return line[min(blanks, len(base)) :]


@cache
def _margin(width: int) -> re.Pattern[str]:
    """Up to ``width`` blanks at the start of each line: one ``sub`` dedents a whole excerpt."""
    return re.compile(rf"^[ \t]{{1,{width}}}", re.MULTILINE)


def _one_line(text: str) -> str:
    text = " ".join(text.split()) if "\n" in text else text.strip()
    if len(text) > SIGNATURE_CHARS:
        text = text[: SIGNATURE_CHARS - 3] + "..."
    return text


def _capped(text: str) -> str:
    """The outline, at most ``OUTLINE_CHARS`` characters, cut at a line end."""
    text = text.strip("\r\n")
    if len(text) <= OUTLINE_CHARS:
        return text
    cut = text.rfind("\n", 0, OUTLINE_CHARS - 4)
    return text[: cut if cut > 0 else OUTLINE_CHARS - 4] + "\n..."


def _first_named(node: Node | None) -> Node | None:
    """The first named child, or None (``Node.named_child`` raises past the end)."""
    return node.named_child(0) if node is not None and node.named_child_count else None


def _end_row(node: Node) -> int:
    """The last line of ``node``; one that ends with its newline ends on the line before."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point.row else row


_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_UPPER_CASE = re.compile(r"_*[A-Z][A-Z0-9_]*")


def _type_name(text: str) -> str:
    """The bare name of a type as written: ``&'a mut Point<T>`` → Point, ``*List[T]`` → List."""
    head = text.split("<", 1)[0].split("[", 1)[0].rsplit("::", 1)[-1]
    names = _IDENTIFIER.findall(head)
    return names[-1] if names else ""


# --- Queries: one per family; the capture on the whole match names its kind or its handler.

_PYTHON_QUERY = """
(function_definition name: (identifier) @name) @function
(class_definition name: (identifier) @name) @class
(module (expression_statement (assignment left: (_) @name)) @py_constant)
(import_statement) @import
(import_from_statement) @import
(future_import_statement) @import
"""

_JAVASCRIPT_QUERY = """
(function_declaration name: (identifier) @name) @function
(generator_function_declaration name: (identifier) @name) @function
(class_declaration name: (_) @name) @class
(class_body (method_definition name: (_) @name) @function)
(program (lexical_declaration kind: "const"
  (variable_declarator name: (identifier) @name value: (_)? @value)) @js_const)
(program (export_statement declaration: (lexical_declaration kind: "const"
  (variable_declarator name: (identifier) @name value: (_)? @value)) @js_const))
[(arrow_function) (function_expression) (generator_function)] @scope
(import_statement) @import
(export_statement source: (_)) @import
(variable_declarator name: (_) @name value: (call_expression function: (identifier) @fn
  arguments: (arguments . (string) @source)) (#eq? @fn "require")) @require
"""

_TYPESCRIPT_QUERY = (
    _JAVASCRIPT_QUERY
    + """
(abstract_class_declaration name: (_) @name) @class
(interface_declaration name: (_) @name) @interface
(type_alias_declaration name: (_) @name) @type
(enum_declaration name: (_) @name) @enum
(function_signature name: (_) @name) @function
(class_body (abstract_method_signature name: (_) @name) @function)
(class_body (method_signature name: (_) @name) @function)
"""
)

_GO_QUERY = """
(function_declaration name: (identifier) @name) @function
(method_declaration receiver: (parameter_list (parameter_declaration type: (_) @receiver))
  name: (field_identifier) @name) @go_method
(type_spec name: (type_identifier) @name type: (_) @type_body) @go_type
(type_alias name: (type_identifier) @name) @type
(const_spec) @go_value
(var_spec) @go_value
(func_literal) @scope
(import_spec) @import
"""

_RUST_QUERY = """
(function_item name: (identifier) @name) @function
(function_signature_item name: (identifier) @name) @function
(struct_item name: (type_identifier) @name) @struct
(union_item name: (type_identifier) @name) @struct
(enum_item name: (type_identifier) @name) @enum
(trait_item name: (type_identifier) @name) @interface
(type_item name: (type_identifier) @name) @type
(const_item name: (identifier) @name) @constant
(static_item name: (identifier) @name) @constant
(macro_definition name: (identifier) @name) @macro
(impl_item type: (_) @name) @impl
(use_declaration) @import
"""

_JAVA_QUERY = """
(class_declaration name: (identifier) @name) @class
(record_declaration name: (identifier) @name) @class
(interface_declaration name: (identifier) @name) @interface
(annotation_type_declaration name: (identifier) @name) @interface
(enum_declaration name: (identifier) @name) @enum
(method_declaration name: (identifier) @name) @function
(constructor_declaration name: (identifier) @name) @function
(field_declaration (modifiers) @modifiers
  declarator: (variable_declarator name: (identifier) @name)) @java_field
(constant_declaration declarator: (variable_declarator name: (identifier) @name)) @constant
(lambda_expression) @scope
(object_creation_expression (class_body) @scope)
(import_declaration) @import
"""

_C_QUERY = """
(function_definition declarator: (_) @declarator) @c_function
(declaration declarator: (function_declarator) @declarator) @c_prototype
(declaration declarator: (pointer_declarator declarator: (function_declarator) @declarator))
  @c_prototype
(struct_specifier name: (_) @name body: (_)) @struct
(union_specifier name: (_) @name body: (_)) @struct
(enum_specifier name: (_) @name body: (_)) @enum
(type_definition type: (_) @type_body declarator: (_) @declarator) @c_typedef
(preproc_def name: (identifier) @name) @macro
(preproc_function_def name: (identifier) @name) @macro
(preproc_include) @import
"""

_CPP_QUERY = (
    _C_QUERY
    + """
(class_specifier name: (_) @name body: (_)) @class
(field_declaration declarator: (function_declarator) @declarator) @c_prototype
(field_declaration declarator: (pointer_declarator declarator: (function_declarator) @declarator))
  @c_prototype
(field_declaration declarator: (reference_declarator (function_declarator) @declarator))
  @c_prototype
(declaration declarator: (reference_declarator (function_declarator) @declarator)) @c_prototype
(alias_declaration name: (type_identifier) @name) @type
(lambda_expression) @scope
"""
)

# Captures that describe a match rather than name what it is.
_AUXILIARY = frozenset(
    {"name", "value", "receiver", "type_body", "modifiers", "declarator", "fn", "source"}
)


# --- Definitions: each handler turns one match into candidates.


def _candidate(
    source: _Source,
    node: Node,
    kind: str | None,
    name: str,
    body: Node | None = None,
    container: str | None = None,
) -> _Candidate:
    """A candidate whose scope follows from its kind (members of classes, locals of the rest)."""
    scope = "container" if kind in _CONTAINER_KINDS else "opaque"
    return _Candidate(node, _anchor(node, source.family), kind, name, body, container, scope)


def _anchor(node: Node, family: _Family) -> Node:
    """The definition as written: with its ``export``/decorators/template, unless grouped."""
    if not family.wrappers:
        return node  # (asking for a parent costs a descent from the root)
    parent = node.parent
    if parent is None or parent.type not in family.wrappers:
        return node
    second = parent.child(1) if parent.child_count > 1 else None
    grouped = second is not None and second.type == "("  # Go's ``const ( ... )``
    return node if grouped else parent


def _body(node: Node) -> Node | None:
    """The block holding a definition's members or statements."""
    body = node.child_by_field_name("body")
    if body is not None:
        return body
    inner = node.child_by_field_name("type")  # Go type specs, C typedefs
    if inner is not None and inner.type in _BODY_TYPES:
        return inner.child_by_field_name("body") or inner
    return None


_BODY_TYPES = frozenset(
    {
        "struct_type",
        "interface_type",
        "struct_specifier",
        "union_specifier",
        "enum_specifier",
        "class_specifier",
    }
)


def _plain(source: _Source, kind: str, node: Node, captures: Captures) -> list[_Candidate]:
    name = source.text(captures["name"][0])
    if "<" in name or "::" in name:  # C++'s ``struct Box<int>``, ``class a::B``
        name = _type_name(name)
    return [_candidate(source, node, kind, name, _body(node))]


def _python_constant(source: _Source, _: str, node: Node, captures: Captures) -> list[_Candidate]:
    """Module-level ``UPPER_CASE = ...`` (and ``A, B = ...``) assignments."""
    target = captures["name"][0]
    names = target.named_children if target.type == "pattern_list" else [target]
    found = [source.text(n) for n in names if n.type == "identifier"]
    return [_candidate(source, node, "constant", n) for n in found if _UPPER_CASE.fullmatch(n)]


_JS_FUNCTIONS = frozenset({"arrow_function", "function_expression", "generator_function"})


def _js_const(source: _Source, _: str, node: Node, captures: Captures) -> list[_Candidate]:
    """A top-level ``const``: a function or class by its value, else a constant."""
    name = source.text(captures["name"][0])
    value = captures["value"][0] if captures.get("value") else None
    kind, body = "constant", None
    if value is not None and value.type in _JS_FUNCTIONS:
        kind, body = "function", value.child_by_field_name("body")
        body = body if body is not None and body.type == "statement_block" else None
    elif value is not None and value.type == "class":
        kind, body = "class", value.child_by_field_name("body")
    elif _is_require(source, value):
        return []  # an import, reported as one
    return [_candidate(source, node, kind, name, body)]


def _is_require(source: _Source, value: Node | None) -> bool:
    if value is None or value.type != "call_expression":
        return False
    return source.text(value.child_by_field_name("function")) == "require"


def _go_method(source: _Source, _: str, node: Node, captures: Captures) -> list[_Candidate]:
    receiver = _type_name(source.text(captures["receiver"][0]))
    name = source.text(captures["name"][0])
    return [_candidate(source, node, "function", name, _body(node), receiver or None)]


_GO_TYPE_KINDS = {"struct_type": "struct", "interface_type": "interface"}


def _go_type(source: _Source, _: str, node: Node, captures: Captures) -> list[_Candidate]:
    kind = _GO_TYPE_KINDS.get(captures["type_body"][0].type, "type")
    return [_candidate(source, node, kind, source.text(captures["name"][0]), _body(node))]


def _go_value(source: _Source, _: str, node: Node, captures: Captures) -> list[_Candidate]:
    """A const or var spec; one spec may name several (``const a, b = 1, 2``)."""
    kind = "constant" if node.type == "const_spec" else "variable"
    names = [n for n in node.children_by_field_name("name") if n.type == "identifier"]
    return [_candidate(source, node, kind, source.text(n)) for n in names]


def _java_field(source: _Source, _: str, node: Node, captures: Captures) -> list[_Candidate]:
    """A ``static final`` field is a constant; other fields are only lines in outlines."""
    modifiers = set(source.text(captures["modifiers"][0]).split())
    if not {"static", "final"} <= modifiers:
        return []
    return [_candidate(source, node, "constant", source.text(captures["name"][0]))]


_C_NAMES = frozenset(
    {
        "identifier",
        "field_identifier",
        "type_identifier",
        "qualified_identifier",
        "destructor_name",
        "operator_name",
        "operator_cast",
        "template_function",
    }
)


def _declared(declarator: Node | None) -> Node | None:
    """The name a C declarator declares, through pointers, references and parentheses."""
    for _ in range(32):  # declarators nest a few levels in real code; garbage may nest more
        if declarator is None or declarator.type in _C_NAMES:
            return declarator
        inner = declarator.child_by_field_name("declarator")
        declarator = inner if inner is not None else _first_named(declarator)
    return None


def _c_name(source: _Source, name: Node) -> tuple[str, str | None]:
    """``(name, container)`` of a C++ name: ``Shape::area`` → ``("area", "Shape")``."""
    container = None
    for _ in range(32):
        if name.type != "qualified_identifier":
            break
        scope, inner = name.child_by_field_name("scope"), name.child_by_field_name("name")
        if scope is not None:
            container = _type_name(source.text(scope)) or None
        if inner is None:
            break
        name = inner
    if name.type == "template_function":
        name = name.child_by_field_name("name") or name
    return source.text(name), container


def _c_function(source: _Source, kind: str, node: Node, captures: Captures) -> list[_Candidate]:
    """A function definition, or (``c_prototype``) a declaration of one."""
    declarator = captures["declarator"][0]
    if kind == "c_prototype":  # ``int (*callback)(int);`` is a variable, not a prototype
        name_node = declarator.child_by_field_name("declarator")
        if name_node is None or name_node.type not in _C_NAMES:
            return []
    else:
        name_node = _declared(declarator)
        if name_node is None:
            return []
    name, container = _c_name(source, name_node)
    candidate = _candidate(source, node, "function", name, _body(node), container)
    candidate.prototype = kind == "c_prototype"
    return [candidate]


def _c_typedef(source: _Source, _: str, node: Node, captures: Captures) -> list[_Candidate]:
    """``typedef struct {...} point_t`` is the struct ``point_t``; other typedefs are types."""
    name_node = _declared(captures["declarator"][0])
    if name_node is None:
        return []
    name, typed = source.text(name_node), captures["type_body"][0]
    body = typed.child_by_field_name("body") if typed.type in _BODY_TYPES else None
    if body is None or typed.child_by_field_name("name") is not None:
        # The named struct is a symbol of its own; this is only another name for it.
        candidate = _candidate(source, node, "type", name)
        candidate.scope = "none"
        return [candidate]
    kind = "enum" if typed.type == "enum_specifier" else "struct"
    return [_candidate(source, node, kind, name, body)]


def _impl(source: _Source, _: str, node: Node, captures: Captures) -> list[_Candidate]:
    """A Rust ``impl``: no symbol, but the container of the methods inside it."""
    candidate = _candidate(source, node, None, _type_name(source.text(captures["name"][0])))
    candidate.scope = "container"
    return [candidate]


def _scope(source: _Source, _: str, node: Node, captures: Captures) -> list[_Candidate]:
    """An anonymous function: definitions inside it are local."""
    return [_Candidate(node, node, None, "", None)]  # (no wrapper to look for: it has none)


_Definer = Callable[[_Source, str, Node, Captures], list[_Candidate]]
_DEFINERS: dict[str, _Definer] = {
    "py_constant": _python_constant,
    "js_const": _js_const,
    "go_method": _go_method,
    "go_type": _go_type,
    "go_value": _go_value,
    "java_field": _java_field,
    "c_function": _c_function,
    "c_prototype": _c_function,
    "c_typedef": _c_typedef,
    "impl": _impl,
    "scope": _scope,
}


# --- Imports: one handler per family, on one import statement each.


def _unquoted(text: str) -> str:
    return text.strip().strip("\"'`<>")


def _python_imports(source: _Source, node: Node) -> list[Import]:
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


def _js_imports(source: _Source, node: Node) -> list[Import]:
    """``import x, {a as b} from 'm'``, ``import * as ns``, and ``export ... from``."""
    module_node = node.child_by_field_name("source")
    names: list[str] = []
    alias: str | None = None
    for part in node.named_children:
        if part.type in ("import_clause", "export_clause", "named_imports"):
            names.extend(_js_clause_names(source, part))
            alias = _js_namespace(source, part) or alias
        elif part.type == "namespace_export":  # ``export * as ns from 'm'``
            alias = source.text(_first_named(part))
        elif part.type == "import_require_clause":  # TypeScript's ``import x = require('m')``
            module_node = part.child_by_field_name("source")
            alias = source.text(_first_named(part))
    if node.type == "export_statement" and not names and alias is None:
        names = ["*"]  # ``export * from 'm'``
    module = _unquoted(source.text(module_node))
    return [Import(module, tuple(names), alias)] if module else []


def _js_clause_names(source: _Source, clause: Node) -> list[str]:
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


def _js_namespace(source: _Source, clause: Node) -> str | None:
    """The ``ns`` of ``import * as ns``, if the clause has one."""
    for part in clause.named_children:
        if part.type == "namespace_import":
            return source.text(_first_named(part)) or None
    return None


def _require(source: _Source, node: Node, captures: Captures) -> list[Import]:
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
            part = _first_named(part) or part
        names.append(source.text(part))
    return [Import(module, tuple(names))]


def _go_imports(source: _Source, node: Node) -> list[Import]:
    module = _unquoted(source.text(node.child_by_field_name("path")))
    alias = node.child_by_field_name("name")
    return [Import(module, alias=source.text(alias) if alias else None)] if module else []


def _rust_imports(source: _Source, node: Node) -> list[Import]:
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


def _rust_use_item(source: _Source, prefix: str, item: Node) -> tuple[str, str | None, str | None]:
    """``(module, bound name, alias)`` of one item in a use tree; name None: the whole module."""
    alias = None
    if item.type == "use_as_clause":
        alias = source.text(item.child_by_field_name("alias"))
        item = item.child_by_field_name("path") or item
    if item.type == "use_wildcard":
        return _joined(prefix, source.text(_first_named(item))), "*", None
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
    return f"{prefix}::{path}" if prefix and path else prefix or path


def _java_imports(source: _Source, node: Node) -> list[Import]:
    """``import a.b.C;`` binds C; ``import a.b.*;`` everything (static imports alike)."""
    path = next((c for c in node.named_children if "identifier" in c.type), None)
    module = source.text(path)
    if not module:
        return []
    if any(child.type == "asterisk" for child in node.named_children):
        return [Import(module, ("*",))]
    return [Import(module, (module.rsplit(".", 1)[-1],))]


def _c_imports(source: _Source, node: Node) -> list[Import]:
    module = _unquoted(source.text(node.child_by_field_name("path")))
    return [Import(module)] if module else []


# --- Families.

_JS_FUNCTION_NODES = frozenset(
    {"method_definition", "abstract_method_signature", "method_signature", "function_signature"}
)

_PYTHON = _Family(
    _PYTHON_QUERY,
    _python_imports,
    wrappers=frozenset({"decorated_definition"}),
    functions=frozenset({"function_definition", "decorated_definition"}),
    member_lists=frozenset(),
    python=True,
)
_JAVASCRIPT = _Family(
    _JAVASCRIPT_QUERY,
    _js_imports,
    wrappers=frozenset({"export_statement"}),
    functions=_JS_FUNCTION_NODES,
)
_TYPESCRIPT = attrs.evolve(
    _JAVASCRIPT,
    query=_TYPESCRIPT_QUERY,
    wrappers=frozenset({"export_statement", "ambient_declaration"}),
)
_GO = _Family(
    _GO_QUERY,
    _go_imports,
    wrappers=frozenset({"type_declaration", "const_declaration", "var_declaration"}),
    functions=frozenset({"method_elem"}),
)
_RUST = _Family(
    _RUST_QUERY,
    _rust_imports,
    comments=frozenset({"line_comment", "block_comment"}),
    between_doc=frozenset({"attribute_item"}),
    functions=frozenset({"function_item", "function_signature_item"}),
)
_JAVA = _Family(
    _JAVA_QUERY,
    _java_imports,
    comments=frozenset({"line_comment", "block_comment"}),
    functions=frozenset({"method_declaration", "constructor_declaration"}),
    member_lists=frozenset({"enum_body_declarations"}),
)
_C = _Family(_C_QUERY, _c_imports, functions=frozenset({"function_definition"}))
_CPP = attrs.evolve(
    _C,
    query=_CPP_QUERY,
    wrappers=frozenset({"template_declaration", "linkage_specification"}),
    functions=frozenset({"function_definition", "template_declaration"}),
)

_FAMILIES = {
    "python": _PYTHON,
    "javascript": _JAVASCRIPT,
    "javascriptreact": _JAVASCRIPT,
    "typescript": _TYPESCRIPT,
    "typescriptreact": _TYPESCRIPT,
    "go": _GO,
    "rust": _RUST,
    "java": _JAVA,
    "c": _C,
    "cpp": _CPP,
}


@cache
def _query(language: str) -> tree_sitter.Query:
    """The language's query, compiled once per process (compiling takes milliseconds)."""
    return tree_sitter.Query(languages.grammar(language), _FAMILIES[language].query)


# --- Extraction.


def extract_symbols(text: str, language: str) -> FileSymbols:
    """The definitions and imports of ``text``, a file in ``language`` (a grammar name).

    Symbols come in source order; definitions local to a function body are left out, as an
    index wants what other code can name. Lines span the definition as written (with its
    decorators, ``export`` or ``template``). The signature is the header up to the body,
    on one line. The outline, dedented to the definition's own indentation and at most
    ``OUTLINE_CHARS`` long, is: for a function, all of it with its doc comment, or past
    ``FULL_FUNCTION_LINES`` lines its header, docstring and an elided body; for a class,
    struct, interface or enum, its header, docstring and one line per member; for the rest,
    its first ``CONSTANT_LINES`` lines.

    Never raises for a ``str``: text that does not parse yields what tree-sitter recovered,
    and a language without a grammar yields nothing.
    """
    family = _FAMILIES.get(language)
    if family is None:
        return FileSymbols(language)
    data = text.encode("utf-8", "replace")  # a lone surrogate becomes "?"
    source = _Source(data, family)
    root = languages.parser(language).parse(data).root_node
    candidates: list[_Candidate] = []
    imports: list[Import] = []
    for _, captures in tree_sitter.QueryCursor(_query(language)).matches(root):
        capture = next((name for name in captures if name not in _AUXILIARY), None)
        if capture is None:
            continue
        node = captures[capture][0]
        if capture == "import":
            imports.extend(family.imports(source, node))
        elif capture == "require":
            imports.extend(_require(source, node, captures))
        else:
            candidates.extend(_DEFINERS.get(capture, _plain)(source, capture, node, captures))
    built = [(c, _symbol(source, c, container)) for c, container in _nested(candidates)]
    return FileSymbols(language, _deduplicated(_without_prototypes(built)), tuple(imports))


def _nested(candidates: list[_Candidate]) -> list[tuple[_Candidate, str | None]]:
    """Each definition with its container, leaving out those local to a function or value.

    One pass over the matches in source order with a stack of the open scopes: cheaper than
    asking each node for its ancestors.
    """
    candidates.sort(key=lambda c: (c.anchor.start_byte, -c.anchor.end_byte))
    stack: list[tuple[int, int, str | None, bool]] = []  # start, end, container, opaque
    kept: list[tuple[_Candidate, str | None]] = []
    for candidate in candidates:
        start, end = candidate.anchor.start_byte, candidate.anchor.end_byte
        while stack and stack[-1][1] <= start:
            stack.pop()
        # Several names from one declaration (``const a = 1, b = 2``) share its scope entry.
        same = bool(stack) and stack[-1][:2] == (start, end)
        depth = len(stack) - (2 if same else 1)
        outer = stack[depth] if depth >= 0 else None
        if outer is not None and outer[3]:
            continue
        container = candidate.container or (outer[2] if outer is not None else None)
        if candidate.scope != "none" and not same:
            name = candidate.name if candidate.scope == "container" else None
            stack.append((start, end, name, candidate.scope == "opaque"))
        if candidate.kind is not None:
            kept.append((candidate, container))
    return kept


def _without_prototypes(built: list[tuple[_Candidate, Symbol]]) -> list[Symbol]:
    """The symbols, less the C prototypes of functions the file defines too.

    A prototype's doc comment then documents the definition, if that has none of its own:
    C code usually documents the declaration.
    """
    defined: set[tuple[str, str | None]] = set()
    docs: dict[tuple[str, str | None], str] = {}
    for candidate, symbol in built:
        key = (symbol.name, symbol.container)
        if not candidate.prototype:
            defined.add(key)
        elif symbol.docstring is not None:
            docs.setdefault(key, symbol.docstring)
    symbols = []
    for candidate, symbol in built:
        key = (symbol.name, symbol.container)
        if candidate.prototype and key in defined:
            continue
        if symbol.docstring is None and key in docs and not candidate.prototype:
            symbol = attrs.evolve(symbol, docstring=docs[key])
        symbols.append(symbol)
    return symbols


def _deduplicated(symbols: list[Symbol]) -> tuple[Symbol, ...]:
    """Without a second symbol of one name, line and container (``typedef struct a {} a``)."""
    seen: set[tuple[str, int, str | None]] = set()
    unique = []
    for symbol in symbols:
        key = (symbol.name, symbol.start_line, symbol.container)
        if symbol.name and key not in seen:
            seen.add(key)
            unique.append(symbol)
    return tuple(unique)


def _symbol(source: _Source, candidate: _Candidate, container: str | None) -> Symbol:
    kind = candidate.kind or ""
    if kind == "function" and container is not None:
        kind = "method"
    anchor, body = candidate.anchor, candidate.body
    start_line, end_line = anchor.start_point.row, _end_row(anchor)
    doc: Node | None = None  # the docstring's statement, or the doc comment's first node
    if source.family.python:
        docstring, doc = _python_docstring(source, body)
    else:
        docstring, doc = _doc_comment(source, anchor)
    start = candidate.node if source.family.python else anchor  # a signature skips decorators
    if start_line == end_line and (body is None or kind not in _FUNCTION_KINDS):
        # Most symbols (constants, macros, one-line types): one decode serves both texts.
        outline = source.text(anchor)
        header = source.text(start) if source.family.python else outline
        signature = _one_line(header.rstrip().removesuffix(";"))
        if body is not None:  # ``enum Color { RED, GREEN }``: the header only
            signature = source.signature(start, anchor, body)
    else:
        signature = source.signature(start, anchor, body)
        outline = _outline(source, candidate, kind, doc)
    return Symbol(
        name=candidate.name,
        kind=kind,
        signature=signature,
        docstring=docstring,
        start_line=start_line,
        end_line=end_line,
        container=container,
        outline=_capped(outline),
    )


def _python_docstring(source: _Source, body: Node | None) -> tuple[str | None, Node | None]:
    """The docstring of a Python body, and the statement holding it."""
    first = _first_named(body) if body is not None else None
    while first is not None and first.type == "comment":
        first = first.next_named_sibling
    if first is None or first.type != "expression_statement":
        return None, None
    string = _first_named(first)
    if string is None or string.type != "string":
        return None, None
    parts = [source.text(part) for part in string.named_children if part.type == "string_content"]
    return inspect.cleandoc("".join(parts)) or None, first


def _doc_comment(source: _Source, anchor: Node) -> tuple[str | None, Node | None]:
    """The comment block right above a definition (attributes between allowed), unmarked."""
    if not _comment_above(source.data, anchor):
        return None, None
    family = source.family
    node, row = anchor.prev_sibling, anchor.start_point.row
    while node is not None and node.type in family.between_doc:
        row = node.start_point.row
        node = node.prev_sibling
    comments: list[Node] = []
    while node is not None and node.type in family.comments and _end_row(node) >= row - 1:
        before = node.prev_sibling
        if before is not None and _end_row(before) == node.start_point.row:
            break  # a comment trailing the code above, not a doc comment
        comments.append(node)
        row = node.start_point.row
        node = before
    if not comments:
        return None, None
    text = "\n".join(_uncommented(source.text(c)) for c in reversed(comments)).strip()
    return text or None, comments[-1]


_COMMENT_STARTS = (b"//", b"/*", b"*", b"#[")


def _comment_above(data: bytes, anchor: Node) -> bool:
    """Whether the line above (or the start of this one) may end a comment or attribute.

    A glance at the bytes that spares most definitions the tree lookup: tree-sitter finds a
    previous sibling by scanning from the parent's first child.
    """
    line_start = anchor.start_byte - anchor.start_point.column
    if b"*/" in data[line_start : anchor.start_byte]:
        return True
    if line_start == 0:
        return False
    above = data[data.rfind(b"\n", 0, line_start - 1) + 1 : line_start].strip()
    return above.startswith(_COMMENT_STARTS) or above.endswith(b"*/")


_STAR_MARGIN = re.compile(r"^\s*\* ?", re.MULTILINE)


def _uncommented(comment: str) -> str:
    """A comment's text without its markers: ``//``, ``///``, ``//!``, ``/** ... */``."""
    comment = comment.strip()
    if comment.startswith("/*"):
        inner = comment[2:].removesuffix("*/").lstrip("*!")
        return inspect.cleandoc(_STAR_MARGIN.sub("", inner))
    lines = []
    for line in comment.split("\n"):
        line = line.strip().lstrip("/").removeprefix("!")
        lines.append(line.removeprefix(" "))
    return "\n".join(lines)


# --- Outlines.


def _outline(source: _Source, candidate: _Candidate, kind: str, doc: Node | None) -> str:
    """The excerpt a prompt shows: by kind, a function, a class's members, or a constant."""
    base = source.indent(candidate.anchor) or ""
    header_end = source.header_end(candidate.node, candidate.body)
    if kind in _FUNCTION_KINDS:
        return _function_outline(source, candidate, doc, base, header_end)
    body = candidate.body
    one_line = body is None or body.start_point.row == _end_row(body)  # ``enum A { B, C }``
    if kind in _CONTAINER_KINDS and header_end is not None and not one_line:
        return "\n".join(_class_outline(source, candidate, doc, base, header_end))
    lines = source.excerpt(candidate.anchor, candidate.anchor.end_byte, base).split("\n")
    if len(lines) > CONSTANT_LINES:
        lines = [*lines[: CONSTANT_LINES - 1], lines[CONSTANT_LINES - 1] + " ..."]
    return "\n".join(lines)


def _function_outline(
    source: _Source, candidate: _Candidate, doc: Node | None, base: str, header_end: int | None
) -> str:
    """All of a short function; of a long one, its header, docstring and an elided body."""
    anchor, body = candidate.anchor, candidate.body
    python = source.family.python
    first = anchor if python or doc is None else doc
    rows = _end_row(anchor) - anchor.start_point.row + 1
    if rows <= FULL_FUNCTION_LINES or body is None or header_end is None:
        return source.excerpt(first, anchor.end_byte, base)
    header = source.excerpt(first, header_end, base).rstrip()
    if not python:
        return header + " { ... }"
    lines = [header]
    if doc is not None:
        lines.append(source.excerpt(doc, doc.end_byte, base))
    body_indent = source.indent(body)
    lines.append(_dedent(body_indent, base) + "..." if body_indent else base + "    ...")
    return "\n".join(lines)


def _class_outline(
    source: _Source, candidate: _Candidate, doc: Node | None, base: str, header_end: int
) -> list[str]:
    """A class's header, docstring and one line per member, at most ``CLASS_OUTLINE_LINES``."""
    anchor, body = candidate.anchor, candidate.body
    assert body is not None  # a class outline is only asked for a class with a body
    python = source.family.python
    closing: list[str] = []
    if python:
        lines = source.excerpt(anchor, header_end, base).split("\n")
        if doc is not None:
            lines += source.excerpt(doc, doc.end_byte, base).split("\n")
    else:
        lines = source.excerpt(doc or anchor, header_end, base).rstrip().split("\n")
        lines[-1] += " {"
        after = source.data[body.end_byte : anchor.end_byte].decode("utf-8", "replace")
        closing = [_one_line("}" + after)]  # ``};`` or ``} point_t;``
    room = CLASS_OUTLINE_LINES - len(lines) - len(closing)
    members: list[str] = []
    for member in _members(source, body, doc if python else None):
        line = _member_line(source, member, base)
        if line is not None:
            members.append(line)
        if len(members) > room:
            members[max(room - 1, 0) :] = ["    ..."]
            break
    return [*lines, *members, *closing][:CLASS_OUTLINE_LINES]


_WRAPPED_MEMBERS = frozenset({"decorated_definition", "template_declaration"})


def _members(source: _Source, body: Node, docstring: Node | None) -> Iterator[Node]:
    """The members of a class body, in order, without comments or the docstring."""
    comments = source.family.comments
    skip = docstring.start_byte if docstring is not None else -1
    for child in body.named_children:
        if child.type in source.family.member_lists:
            yield from (c for c in child.named_children if c.type not in comments)
        elif child.type not in comments and child.start_byte != skip:
            yield child


def _member_line(source: _Source, member: Node, base: str) -> str | None:
    """A member as one line: a method's signature, else its first line as written.

    None for a member sharing its line with another (``int x, y;`` or ``RED, GREEN``), whose
    line the first one already shows.
    """
    indent = source.indent(member)
    if indent is None:
        return None
    inner = member
    if member.type in _WRAPPED_MEMBERS:
        inner = member.child_by_field_name("definition") or member.named_children[-1]
    if inner.type in source.family.functions:
        start = inner if source.family.python else member
        text = source.signature(start, inner, _body(inner))
    else:
        line_end = source.data.find(b"\n", member.start_byte)
        line_end = len(source.data) if line_end < 0 else line_end
        text = _one_line(source.data[member.start_byte : line_end].decode("utf-8", "replace"))
    return _dedent(indent, base) + text

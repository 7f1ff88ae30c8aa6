"""Definitions: how each query match becomes candidate symbols, and the scopes they sit in.

The queries (``symbol_queries``) find definitions; what a match means is language detail this
module holds, one small handler per capture: which Python assignments are constants, a
JavaScript ``const`` that is really a function, Go receivers, C declarators and prototypes,
Rust ``impl`` blocks. Each yields ``Candidate``s, which ``extract_symbols`` nests into
containers (or drops as local) before they become ``Symbol``s.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs
from tree_sitter import Node

from quill.context.parsed_source import Captures, Family, Source, first_named

# Kinds whose members name them as their container (and whose outline lists the members).
CONTAINER_KINDS = frozenset({"class", "struct", "interface", "enum"})
# Kinds shown as functions: whole when short, else their header (methods inside a container).
FUNCTION_KINDS = frozenset({"function", "method"})


@attrs.define
class Candidate:
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


_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_UPPER_CASE = re.compile(r"_*[A-Z][A-Z0-9_]*")


def _type_name(text: str) -> str:
    """The bare name of a type as written: ``&'a mut Point<T>`` → Point, ``*List[T]`` → List."""
    head = text.split("<", 1)[0].split("[", 1)[0].rsplit("::", 1)[-1]
    names = _IDENTIFIER.findall(head)
    return names[-1] if names else ""


def _candidate(
    source: Source,
    node: Node,
    kind: str | None,
    name: str,
    body: Node | None = None,
    container: str | None = None,
) -> Candidate:
    """A candidate whose scope follows from its kind (members of classes, locals of the rest)."""
    scope = "container" if kind in CONTAINER_KINDS else "opaque"
    return Candidate(node, _anchor(node, source.family), kind, name, body, container, scope)


def _anchor(node: Node, family: Family) -> Node:
    """The definition as written: with its ``export``/decorators/template, unless grouped."""
    if not family.wrappers:
        return node  # (asking for a parent costs a descent from the root)
    parent = node.parent
    if parent is None or parent.type not in family.wrappers:
        return node
    second = parent.child(1) if parent.child_count > 1 else None
    grouped = second is not None and second.type == "("  # Go's ``const ( ... )``
    return node if grouped else parent


def definition_body(node: Node) -> Node | None:
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


def _plain(source: Source, kind: str, node: Node, captures: Captures) -> list[Candidate]:
    """A definition named by its ``@name`` capture, of the kind its match's capture names."""
    name = source.text(captures["name"][0])
    if "<" in name or "::" in name:  # C++'s ``struct Box<int>``, ``class a::B``
        name = _type_name(name)
    return [_candidate(source, node, kind, name, definition_body(node))]


def _python_constant(source: Source, _: str, node: Node, captures: Captures) -> list[Candidate]:
    """Module-level ``UPPER_CASE = ...`` (and ``A, B = ...``) assignments."""
    target = captures["name"][0]
    names = target.named_children if target.type == "pattern_list" else [target]
    found = [source.text(n) for n in names if n.type == "identifier"]
    return [_candidate(source, node, "constant", n) for n in found if _UPPER_CASE.fullmatch(n)]


_JS_FUNCTIONS = frozenset({"arrow_function", "function_expression", "generator_function"})


def _js_const(source: Source, _: str, node: Node, captures: Captures) -> list[Candidate]:
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


def _is_require(source: Source, value: Node | None) -> bool:
    if value is None or value.type != "call_expression":
        return False
    return source.text(value.child_by_field_name("function")) == "require"


def _go_method(source: Source, _: str, node: Node, captures: Captures) -> list[Candidate]:
    receiver = _type_name(source.text(captures["receiver"][0]))
    name = source.text(captures["name"][0])
    return [_candidate(source, node, "function", name, definition_body(node), receiver or None)]


_GO_TYPE_KINDS = {"struct_type": "struct", "interface_type": "interface"}


def _go_type(source: Source, _: str, node: Node, captures: Captures) -> list[Candidate]:
    kind = _GO_TYPE_KINDS.get(captures["type_body"][0].type, "type")
    return [_candidate(source, node, kind, source.text(captures["name"][0]), definition_body(node))]


def _go_value(source: Source, _: str, node: Node, captures: Captures) -> list[Candidate]:
    """A const or var spec; one spec may name several (``const a, b = 1, 2``)."""
    kind = "constant" if node.type == "const_spec" else "variable"
    names = [n for n in node.children_by_field_name("name") if n.type == "identifier"]
    return [_candidate(source, node, kind, source.text(n)) for n in names]


def _java_field(source: Source, _: str, node: Node, captures: Captures) -> list[Candidate]:
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
        declarator = inner if inner is not None else first_named(declarator)
    return None


def _c_name(source: Source, name: Node) -> tuple[str, str | None]:
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


def _c_function(source: Source, kind: str, node: Node, captures: Captures) -> list[Candidate]:
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
    candidate = _candidate(source, node, "function", name, definition_body(node), container)
    candidate.prototype = kind == "c_prototype"
    return [candidate]


def _c_typedef(source: Source, _: str, node: Node, captures: Captures) -> list[Candidate]:
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


def _impl(source: Source, _: str, node: Node, captures: Captures) -> list[Candidate]:
    """A Rust ``impl``: no symbol, but the container of the methods inside it."""
    candidate = _candidate(source, node, None, _type_name(source.text(captures["name"][0])))
    candidate.scope = "container"
    return [candidate]


def _scope(source: Source, _: str, node: Node, captures: Captures) -> list[Candidate]:
    """An anonymous function: definitions inside it are local."""
    return [Candidate(node, node, None, "", None)]  # (no wrapper to look for: it has none)


_Definer = Callable[[Source, str, Node, Captures], list[Candidate]]
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


def match_candidates(
    source: Source, capture: str, node: Node, captures: Captures
) -> list[Candidate]:
    """The candidates of one definition match, by the handler its capture names."""
    return _DEFINERS.get(capture, _plain)(source, capture, node, captures)

"""Outlines: the compact source excerpt a prompt shows of each symbol.

A prompt has room for a few hundred lines of other files, so each symbol carries an excerpt
sized to be useful: a short function whole, a long one as its header and docstring, a class
as its header and one line per member, a constant as its first lines, all dedented to the
definition's own indentation and capped at ``OUTLINE_CHARS``.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from quill.context.definitions import CONTAINER_KINDS, FUNCTION_KINDS, Candidate, definition_body
from quill.context.parsed_source import Source, end_row, one_line

OUTLINE_CHARS = 1500
FULL_FUNCTION_LINES = 12  # a longer function shows only its header and docstring
CLASS_OUTLINE_LINES = 40
CONSTANT_LINES = 3


def _dedent(line: str, base: str) -> str:
    """``line`` without up to ``len(base)`` leading blanks (less if it is indented less)."""
    blanks = len(line) - len(line.lstrip(" \t"))
    return line[min(blanks, len(base)) :]


def capped_outline(text: str) -> str:
    """The outline, at most ``OUTLINE_CHARS`` characters, cut at a line end."""
    text = text.strip("\r\n")
    if len(text) <= OUTLINE_CHARS:
        return text
    cut = text.rfind("\n", 0, OUTLINE_CHARS - 4)
    return text[: cut if cut > 0 else OUTLINE_CHARS - 4] + "\n..."


def outline_of(source: Source, candidate: Candidate, kind: str, doc: Node | None) -> str:
    """The excerpt a prompt shows: by kind, a function, a class's members, or a constant."""
    base = source.indent(candidate.anchor) or ""
    header_end = source.header_end(candidate.node, candidate.body)
    if kind in FUNCTION_KINDS:
        return _function_outline(source, candidate, doc, base, header_end)
    body = candidate.body
    single_line = body is None or body.start_point.row == end_row(body)  # ``enum A { B, C }``
    if kind in CONTAINER_KINDS and header_end is not None and not single_line:
        return "\n".join(_class_outline(source, candidate, doc, base, header_end))
    lines = source.excerpt(candidate.anchor, candidate.anchor.end_byte, base).split("\n")
    if len(lines) > CONSTANT_LINES:
        lines = [*lines[: CONSTANT_LINES - 1], lines[CONSTANT_LINES - 1] + " ..."]
    return "\n".join(lines)


def _function_outline(
    source: Source, candidate: Candidate, doc: Node | None, base: str, header_end: int | None
) -> str:
    """All of a short function; of a long one, its header, docstring and an elided body."""
    anchor, body = candidate.anchor, candidate.body
    python = source.family.python
    first = anchor if python or doc is None else doc
    rows = end_row(anchor) - anchor.start_point.row + 1
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
    source: Source, candidate: Candidate, doc: Node | None, base: str, header_end: int
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
        closing = [one_line("}" + after)]  # ``};`` or ``} point_t;``
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


def _members(source: Source, body: Node, docstring: Node | None) -> Iterator[Node]:
    """The members of a class body, in order, without comments or the docstring."""
    comments = source.family.comments
    skip = docstring.start_byte if docstring is not None else -1
    for child in body.named_children:
        if child.type in source.family.member_lists:
            yield from (c for c in child.named_children if c.type not in comments)
        elif child.type not in comments and child.start_byte != skip:
            yield child


def _member_line(source: Source, member: Node, base: str) -> str | None:
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
        text = source.signature(start, inner, definition_body(inner))
    else:
        line_end = source.data.find(b"\n", member.start_byte)
        line_end = len(source.data) if line_end < 0 else line_end
        text = one_line(source.data[member.start_byte : line_end].decode("utf-8", "replace"))
    return _dedent(indent, base) + text

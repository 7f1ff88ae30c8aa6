"""Documentation: a Python docstring, or the doc comment written above a definition.

A symbol's docstring is what a hover shows and what tells a prompt what a definition is for.
Python keeps it in the body; the other languages write a comment block above the definition
(Rust with attributes between), which is found by looking back from the definition through
its siblings, after a cheap glance at the bytes above rules most definitions out.
"""

from __future__ import annotations

import inspect
import re

from tree_sitter import Node

from quill.context.parsed_source import Source, end_row, first_named


def python_docstring(source: Source, body: Node | None) -> tuple[str | None, Node | None]:
    """The docstring of a Python body, and the statement holding it."""
    first = first_named(body) if body is not None else None
    while first is not None and first.type == "comment":
        first = first.next_named_sibling
    if first is None or first.type != "expression_statement":
        return None, None
    string = first_named(first)
    if string is None or string.type != "string":
        return None, None
    parts = [source.text(part) for part in string.named_children if part.type == "string_content"]
    return inspect.cleandoc("".join(parts)) or None, first


def doc_comment(source: Source, anchor: Node) -> tuple[str | None, Node | None]:
    """The comment block right above a definition (attributes between allowed), unmarked."""
    if not _comment_above(source.data, anchor):
        return None, None
    family = source.family
    node, row = anchor.prev_sibling, anchor.start_point.row
    while node is not None and node.type in family.between_doc:
        row = node.start_point.row
        node = node.prev_sibling
    comments: list[Node] = []
    while node is not None and node.type in family.comments and end_row(node) >= row - 1:
        before = node.prev_sibling
        if before is not None and end_row(before) == node.start_point.row:
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

"""One parsed file as symbol extraction reads it, and the family of grammars it is written in.

Every stage of extraction (definitions, imports, doc comments, outlines) asks the same few
things of a file: a node's text, its indentation, a dedented excerpt, a header up to its body.
``Source`` answers them from the raw bytes, decoding only the pieces asked for, and carries the
``Family`` whose conventions (wrappers, comment nodes, Python's colons) shape the answers.
"""

from __future__ import annotations

import re
from functools import cache

import attrs
from tree_sitter import Node

Captures = dict[str, list[Node]]
"""A query match: each capture's name and the nodes it caught."""

SIGNATURE_CHARS = 300


@attrs.frozen
class Family:
    """How one family of grammars writes definitions and doc comments: what reading a match
    asks of the language. (Which query finds the matches, and which reader turns an import
    statement into ``Import``s, is ``symbol_queries``' business: this module is the floor the
    readers stand on, so it names none of them.)"""

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


class Source:
    """The parsed bytes of one file, decoded lazily, piece by piece."""

    def __init__(self, data: bytes, family: Family) -> None:
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
            return one_line(text.rstrip().removesuffix(";"))
        text = self.data[node.start_byte : header_end].decode("utf-8", "replace")
        after = self.data[body.end_byte : end_node.end_byte].decode("utf-8", "replace")
        after = after.strip().removesuffix(";").strip()
        if after:  # ``typedef struct { ... } point_t``
            text = f"{text.rstrip()} {{ ... }} {after}"
        return one_line(text)


@cache
def _margin(width: int) -> re.Pattern[str]:
    """Up to ``width`` blanks at the start of each line: one ``sub`` dedents a whole excerpt."""
    return re.compile(rf"^[ \t]{{1,{width}}}", re.MULTILINE)


def one_line(text: str) -> str:
    """``text`` on one line, at most ``SIGNATURE_CHARS`` long: how a signature is shown."""
    text = " ".join(text.split()) if "\n" in text else text.strip()
    if len(text) > SIGNATURE_CHARS:
        text = text[: SIGNATURE_CHARS - 3] + "..."
    return text


def first_named(node: Node | None) -> Node | None:
    """The first named child, or None (``Node.named_child`` raises past the end)."""
    return node.named_child(0) if node is not None and node.named_child_count else None


def end_row(node: Node) -> int:
    """The last line of ``node``; one that ends with its newline ends on the line before."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point.row else row

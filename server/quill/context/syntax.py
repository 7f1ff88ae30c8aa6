"""Syntax facts from tree-sitter: definitions, the definition at a position, parse errors.

The grammars come from the one registry, ``quill.context.languages``. Offsets here are string
indices (not bytes): tree-sitter's byte offsets are converted once per parse.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import tree_sitter

from quill.context import languages

# Node types that define a function or class (with ``name`` and ``body`` fields), for every
# grammar in the registry; C and C++ name their functions through declarators, so they have none.
_DEFINITIONS = {
    "function_definition": "function",
    "class_definition": "class",
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "method_definition": "function",
    "method_declaration": "function",
    "constructor_declaration": "function",
    "function_item": "function",
    "class_declaration": "class",
    "abstract_class_declaration": "class",
    "interface_declaration": "class",
    "enum_declaration": "class",
    "record_declaration": "class",
    "struct_item": "class",
    "enum_item": "class",
    "trait_item": "class",
}


def language_of(language_id: str, path: str = "") -> str | None:
    """The grammar name for an LSP language id (or, failing that, a file suffix)."""
    return languages.language_of(language_id, path)


@attrs.frozen
class Definition:
    """A function or class: where it is and what it says of itself."""

    kind: str  # "function" or "class"
    name: str
    start: int  # the definition's first character (its line start for Python)
    end: int
    signature: str  # the text up to the body, e.g. ``def mean(values: list[float]) -> float:``
    docstring: str | None  # the docstring's text without quotes, if any
    body_start: int  # where the body's first statement starts
    indent: str  # the indentation of the definition's line

    @property
    def line_start(self) -> int:
        return self.start - len(self.indent)


class Tree:
    """A parsed document with string offsets."""

    def __init__(self, text: str, language: str) -> None:
        self.text = text
        self.language = language
        self._data = text.encode("utf-8", "surrogatepass")
        self.root = languages.parser(language).parse(self._data).root_node
        # byte offset -> string index, computed lazily for non-ASCII text
        self._ascii = len(self._data) == len(text)

    def offset(self, byte: int) -> int:
        if self._ascii:
            return byte
        return len(self._data[:byte].decode("utf-8", "surrogatepass"))

    def byte(self, offset: int) -> int:
        if self._ascii:
            return offset
        return len(self.text[:offset].encode("utf-8", "surrogatepass"))

    @property
    def has_errors(self) -> bool:
        return bool(self.root.has_error)

    def definitions(self) -> Iterator[Definition]:
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.type in _DEFINITIONS and (definition := self._definition(node)):
                yield definition
            stack.extend(reversed(node.children))

    def definition_at(self, offset: int) -> Definition | None:
        """The innermost function or class containing ``offset`` (or starting on its line)."""
        line_end = self.text.find("\n", offset)
        line_end = len(self.text) if line_end < 0 else line_end
        best: Definition | None = None
        for definition in self.definitions():
            inside = definition.start <= offset <= definition.end
            on_header = definition.line_start <= offset <= line_end and (
                definition.start <= line_end
            )
            if (inside or on_header) and (best is None or definition.start >= best.start):
                best = definition
        return best

    def identifier_at(self, offset: int) -> str | None:
        point = self.byte(offset)
        node = self.root.descendant_for_byte_range(point, point)
        if node is not None and node.type not in ("identifier", "property_identifier"):
            # At the end of a word the node found may be what follows it.
            before = self.root.descendant_for_byte_range(max(point - 1, 0), max(point - 1, 0))
            node = before
        if node is None or node.type not in (
            "identifier",
            "property_identifier",
            "type_identifier",
        ):
            return None
        return self._node_text(node)

    def _node_text(self, node: tree_sitter.Node) -> str:
        return self._data[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass")

    def _definition(self, node: tree_sitter.Node) -> Definition | None:
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name is None or body is None:
            return None
        start, end = self.offset(node.start_byte), self.offset(node.end_byte)
        line_start = self.text.rfind("\n", 0, start) + 1
        indent = self.text[line_start:start]
        if indent.strip():
            indent = ""  # something else on the line before it (e.g. ``export``)
        body_start = self.offset(body.start_byte)
        header_end = body_start
        if self.language == "python":
            # The body's first statement; the header ends with its ``:``.
            colon = self.text.rfind(":", start, body_start)
            header_end = colon + 1 if colon >= 0 else body_start
        signature = self.text[start:header_end].rstrip()
        return Definition(
            kind=_DEFINITIONS[node.type],
            name=self._node_text(name),
            start=start,
            end=end,
            signature=signature,
            docstring=self._docstring(body),
            body_start=body_start,
            indent=indent,
        )

    def _docstring(self, body: tree_sitter.Node) -> str | None:
        if self.language != "python" or not body.children:
            return None
        first = body.children[0]
        if first.type != "expression_statement" or not first.children:
            return None
        string = first.children[0]
        if string.type != "string":
            return None
        content = [child for child in string.children if child.type == "string_content"]
        return "".join(self._node_text(child) for child in content).strip()


def parse(text: str, language: str) -> Tree:
    return Tree(text, language)


def error_count(text: str, language: str) -> int:
    """How many ERROR or MISSING nodes the text has (0: it parses)."""
    return count_errors(parse(text, language).root)


def count_errors(root: tree_sitter.Node) -> int:
    """ERROR and MISSING nodes under ``root``, for callers that already hold a tree."""
    if not root.has_error:
        return 0
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        elif node.has_error:
            stack.extend(node.children)
    return count

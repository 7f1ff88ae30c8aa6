"""A parsed document with string offsets: its definitions, the definition at a position, the
identifier at a position, and parse errors (``error_count`` and ``count_errors``, from
``quill.context.languages``).

Code actions, explanations and hovers work in string indices of an editor's text, while
tree-sitter counts bytes; ``Tree`` converts once per parse. Which nodes are definitions, and
their names, signatures and docs, is not decided here: ``Tree.definitions`` reads the one
extractor the workspace index uses (``symbols.locate_symbols``), so a function shows the same
signature and doc comment in the document that defines it as anywhere the index finds it.
The grammars come from the one registry, ``quill.context.languages``.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from quill.context import languages
from quill.context.definitions import CONTAINER_KINDS, FUNCTION_KINDS
from quill.context.languages import ParsedText
from quill.context.languages import count_errors as count_errors
from quill.context.languages import error_count as error_count
from quill.context.symbols import LocatedSymbol, locate_symbols


def language_of(language_id: str, path: str = "") -> str | None:
    """The grammar name for an LSP language id (or, failing that, a file suffix)."""
    return languages.language_of(language_id, path)


@attrs.frozen
class Definition:
    """A function or class: where it is and what it says of itself."""

    kind: str  # "function" (methods included) or "class" (structs, interfaces, enums too)
    name: str
    # Where its signature starts: at its ``export`` or ``template`` where it has one, past
    # Python's decorators (a docstring goes under the ``def``).
    start: int
    end: int
    signature: str  # the header up to the body on one line: ``def mean(values: list) -> float:``
    docstring: str | None  # the docstring or doc comment, without quotes or comment markers
    body_start: int  # where the body's first statement starts (``end`` where it has no body)
    indent: str  # the indentation of the definition's line

    @property
    def line_start(self) -> int:
        return self.start - len(self.indent)


class Tree(ParsedText):
    """A parsed document with string offsets, and the definitions in it."""

    def __init__(self, text: str, language: str) -> None:
        super().__init__(text, language)
        self._symbols: list[LocatedSymbol] | None = None
        self._definitions: list[Definition] | None = None

    def symbols(self) -> list[LocatedSymbol]:
        """Every definition the index's extractor finds, local ones included, in source
        order (extracted once per tree)."""
        if self._symbols is None:
            self._symbols = locate_symbols(self.data, self.root, self.language)
        return self._symbols

    def definitions(self) -> Iterator[Definition]:
        """The functions and classes (methods, nested functions, structs, interfaces and
        enums too), in source order; constants, type aliases and macros are not."""
        if self._definitions is None:
            self._definitions = [
                self._definition(located)
                for located in self.symbols()
                if located.symbol.kind in FUNCTION_KINDS or located.symbol.kind in CONTAINER_KINDS
            ]
        return iter(self._definitions)

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
        return self.node_text(node)

    def _definition(self, located: LocatedSymbol) -> Definition:
        """A located symbol in the document's string offsets."""
        symbol, candidate = located.symbol, located.candidate
        start = self.offset(located.start.start_byte)
        end = self.offset(candidate.anchor.end_byte)
        line_start = self.text.rfind("\n", 0, start) + 1
        indent = self.text[line_start:start]
        if indent.strip():
            indent = ""  # something else on the line before it
        body = candidate.body
        return Definition(
            kind="function" if symbol.kind in FUNCTION_KINDS else "class",
            name=symbol.name,
            start=start,
            end=end,
            signature=symbol.signature,
            docstring=symbol.docstring,
            body_start=self.offset(body.start_byte) if body is not None else end,
            indent=indent,
        )


def parse(text: str, language: str) -> Tree:
    return Tree(text, language)

"""Open documents, kept exactly equal to the editor's text.

pygls' own store splits lines with ``str.splitlines``, which also breaks at form feeds,
``\\u2028`` and other characters that LSP does not count as line ends, so positions after
them drift. LSP lines end only at ``\\n``, ``\\r\\n`` or ``\\r``; this store follows that and
converts positions in the negotiated encoding (UTF-8, UTF-16 or UTF-32 code units).
"""

from __future__ import annotations

import bisect
import re
from enum import Enum
from functools import cached_property

from lsprotocol import types

_LINE_END = re.compile(r"\r\n|\r|\n")


class PositionEncoding(Enum):
    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"

    @classmethod
    def from_lsp(cls, kind: types.PositionEncodingKind | str | None) -> PositionEncoding:
        return cls(str(kind.value if isinstance(kind, Enum) else kind or "utf-16"))

    def units(self, text: str) -> int:
        """Length of ``text`` in this encoding's code units."""
        if self is PositionEncoding.UTF32 or text.isascii():
            return len(text)
        if self is PositionEncoding.UTF16:
            return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
        return len(text.encode("utf-8", "surrogatepass"))


class PositionOutOfRange(ValueError):
    """A position names a line the document does not have."""


class Document:
    """One document's text and version; immutable text, replaced on each change."""

    def __init__(self, uri: str, language_id: str, version: int, text: str) -> None:
        self.uri = uri
        self.language_id = language_id
        self.version = version
        self.text = text

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0, *(match.end() for match in _LINE_END.finditer(self.text))]

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def line_text(self, line: int) -> str:
        """The line's text without its line end."""
        start = self._line_starts[line]
        end = self._line_starts[line + 1] if line + 1 < self.line_count else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def offset_at(self, position: types.Position, encoding: PositionEncoding) -> int:
        """String index of an LSP position.

        A character past the end of its line means the line's end, as LSP specifies.
        A line past the end of the document raises :class:`PositionOutOfRange`. Edits never
        get here with such a line: :meth:`apply` takes it as the end of the text, which is
        what clients mean by it ("to the end").
        """
        if position.line >= self.line_count:
            raise PositionOutOfRange(
                f"line {position.line} is past the end of {self.uri} ({self.line_count} lines)"
            )
        line = self.line_text(position.line)
        start = self._line_starts[position.line]
        if encoding is PositionEncoding.UTF32 or line.isascii():
            return start + min(position.character, len(line))
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return start + index
            units += encoding.units(char)
        return start + len(line)

    def position_at(self, offset: int, encoding: PositionEncoding) -> types.Position:
        line = bisect.bisect_right(self._line_starts, offset) - 1
        start = self._line_starts[line]
        return types.Position(line=line, character=encoding.units(self.text[start:offset]))

    def apply(
        self, change: types.TextDocumentContentChangeEvent, encoding: PositionEncoding
    ) -> None:
        if isinstance(change, types.TextDocumentContentChangeWholeDocument):
            self._replace_text(change.text)
            return
        start = self._edit_offset(change.range.start, encoding)
        end = max(start, self._edit_offset(change.range.end, encoding))
        self._replace_text(self.text[:start] + change.text + self.text[end:])

    def _edit_offset(self, position: types.Position, encoding: PositionEncoding) -> int:
        if position.line >= self.line_count:
            return len(self.text)
        return self.offset_at(position, encoding)

    def _replace_text(self, text: str) -> None:
        self.text = text
        self.__dict__.pop("_line_starts", None)


class DocumentStore:
    """The documents the editor has open, by URI."""

    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}
        self.encoding = PositionEncoding.UTF16

    def open(self, item: types.TextDocumentItem) -> None:
        self._documents[item.uri] = Document(item.uri, item.language_id, item.version, item.text)

    def change(self, params: types.DidChangeTextDocumentParams) -> None:
        document = self.get(params.text_document.uri)
        for change in params.content_changes:
            document.apply(change, self.encoding)
        document.version = params.text_document.version

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def get(self, uri: str) -> Document:
        try:
            return self._documents[uri]
        except KeyError:
            raise KeyError(f"document is not open: {uri}") from None

    def uris(self) -> list[str]:
        """The open documents' URIs, in the order they were opened."""
        return list(self._documents)

    def __contains__(self, uri: str) -> bool:
        return uri in self._documents

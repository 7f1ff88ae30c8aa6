from __future__ import annotations

import pytest
from lsprotocol import types

from quill.documents import Document, PositionEncoding, PositionOutOfRange

TEXT = "a😀b\r\nsecond\u2028still second\rthird"


@pytest.mark.parametrize(
    ("encoding", "character"),
    [(PositionEncoding.UTF8, 5), (PositionEncoding.UTF16, 3), (PositionEncoding.UTF32, 2)],
)
def test_offsets_in_each_encoding(encoding: PositionEncoding, character: int) -> None:
    document = Document("u", "python", 1, TEXT)
    offset = document.offset_at(types.Position(0, character), encoding)
    assert TEXT[offset] == "b"
    assert document.position_at(offset, encoding) == types.Position(0, character)


def test_lsp_line_ends_only() -> None:
    document = Document("u", "python", 1, TEXT)
    assert document.line_count == 3  # \u2028 is not a line end in LSP
    assert document.line_text(1) == "second\u2028still second"
    assert document.line_text(2) == "third"


def test_past_the_end() -> None:
    document = Document("u", "python", 1, TEXT)
    end_of_first = document.offset_at(types.Position(0, 99), PositionEncoding.UTF16)
    assert TEXT[end_of_first:].startswith("\r\n")
    with pytest.raises(PositionOutOfRange):
        document.offset_at(types.Position(3, 0), PositionEncoding.UTF16)

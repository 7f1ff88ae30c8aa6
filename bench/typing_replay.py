"""Typing into an open document over LSP, one keystroke at a time, as an editor sends it."""

from __future__ import annotations

from lsprotocol import types
from pygls.lsp.client import LanguageClient


def type_key(
    client: LanguageClient, uri: str, version: int, position: types.Position, key: str
) -> types.Position:
    """Send ``key`` (a character, or a line end with the next line's indentation, as an
    auto-indenting editor inserts it) at ``position``; the cursor's position after it."""
    change = types.TextDocumentContentChangePartial(range=types.Range(position, position), text=key)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version), [change]
        )
    )
    if "\n" in key:
        last_line = key.rsplit("\n", 1)[1]
        return types.Position(position.line + key.count("\n"), _utf16_length(last_line))
    return types.Position(position.line, position.character + _utf16_length(key))


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2

"""Typing into an open document over LSP, one keystroke at a time, as an editor sends it.

Owns the editor's side of a document every typing benchmark repeats: ``didOpen``, one
incremental ``didChange`` per keystroke (the cursor moved in UTF-16 code units, as LSP
counts them), ``didClose``, when a keystroke ends a word, and the loop that types keys
with a request awaited after each word (or each key).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from lsprotocol import types
from pygls.lsp.client import LanguageClient

_WORD_CHAR = re.compile(r"[A-Za-z0-9_]")


def open_document(client: LanguageClient, uri: str, text: str) -> None:
    """``didOpen`` of a Python document at version 1."""
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )


def close_document(client: LanguageClient, uri: str) -> None:
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
    )


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


def is_word_char(char: str) -> bool:
    """A letter, digit or ``_``: a character inside a word."""
    return bool(_WORD_CHAR.match(char))


def asks_after(key: str, every: str) -> bool:
    """Whether a request follows ``key``: after every keystroke (``every`` "keystroke"), or
    only after one that ends a word (any character but a letter, digit or ``_``)."""
    return every == "keystroke" or not is_word_char(key[-1:] or "\n")


async def type_asking(
    client: LanguageClient,
    uri: str,
    start: types.Position,
    keys: Sequence[str],
    every: str,
    ask: Callable[[types.Position], Awaitable[object]],
) -> None:
    """Type ``keys`` from ``start`` into the document opened at version 1, awaiting
    ``ask(cursor)`` after each keystroke that ``asks_after``."""
    position = start
    for version, key in enumerate(keys, start=2):
        position = type_key(client, uri, version, position, key)
        if asks_after(key, every):
            await ask(position)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2

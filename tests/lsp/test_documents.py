"""Documents stay exactly equal to the client's text under incremental edits."""

from __future__ import annotations

import random
import re

import pytest
from lsprotocol import types

from tests.conftest import StartClient, open_document

URI = "file:///project/notes.py"
_LINE_END = re.compile(r"\r\n|\r|\n")
_PIECES = ["x", "def ", " ", "\t", "é", "😀", "漢字", "\n", "\r\n", "()", "🎉🎉", "ß"]
_UNITS = {
    types.PositionEncodingKind.Utf8: lambda s: len(s.encode("utf-8")),
    types.PositionEncodingKind.Utf16: lambda s: len(s.encode("utf-16-le")) // 2,
    types.PositionEncodingKind.Utf32: len,
}


def _position(text: str, offset: int, encoding: types.PositionEncodingKind) -> types.Position:
    """The client's view of an offset: what an editor would send."""
    starts = [0, *(match.end() for match in _LINE_END.finditer(text))]
    line = max(index for index, start in enumerate(starts) if start <= offset)
    return types.Position(line, _UNITS[encoding](text[starts[line] : offset]))


def _random_offset(rng: random.Random, text: str, low: int = 0) -> int:
    while True:  # never between the two characters of a CRLF
        offset = rng.randint(low, len(text))
        if not (0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n"):
            return offset


@pytest.mark.parametrize("encoding", list(_UNITS))
async def test_many_incremental_edits_keep_the_text_exact(
    start_client: StartClient, encoding: types.PositionEncodingKind
) -> None:
    capabilities = types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=[encoding])
    )
    client, _ = await start_client({"enable": False}, capabilities)
    rng = random.Random(f"quill-{encoding.value}")
    text = "def naïve():\r\n\treturn '😀 漢字'\n\nx = 1\r"
    open_document(client, URI, text)
    version = 1
    for _ in range(150):
        changes: list[types.TextDocumentContentChangeEvent] = []
        for _ in range(rng.randint(1, 3)):  # several changes in one notification, in order
            start = _random_offset(rng, text)
            end = min(_random_offset(rng, text, start), start + rng.randint(0, 12))
            while end > start and text[end - 1 : end + 1] == "\r\n":
                end -= 1
            inserted = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 4)))
            changes.append(
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        _position(text, start, encoding), _position(text, end, encoding)
                    ),
                    text=inserted,
                )
            )
            text = text[:start] + inserted + text[end:]
        version += 1
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=URI, version=version), changes
            )
        )
    state = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="quill.documentState", arguments=[URI])
    )
    assert state["version"] == version
    assert state["text"] == text


async def test_whole_document_changes_replace_the_text(start_client: StartClient) -> None:
    client, _ = await start_client({"enable": False})
    open_document(client, URI, "old")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            [types.TextDocumentContentChangeWholeDocument(text="new 😀\n")],
        )
    )
    state = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="quill.documentState", arguments=[URI])
    )
    assert state == {"uri": URI, "version": 2, "text": "new 😀\n"}

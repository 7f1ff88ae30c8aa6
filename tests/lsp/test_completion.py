"""Inline completion and completion over LSP, from the real host with the packaged model."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from tests.conftest import STATS, STATS_BODY, STATS_URI, StartClient, inline_params, open_document

# The empty body line of standard_deviation, after its indentation (0-based).


def _options(url: str, **extra: object) -> dict[str, object]:
    return {"serverUrl": url, "deadlineMs": 30_000, "maxNewTokens": 32, **extra}


async def test_initialize_advertises_completions_and_incremental_sync(
    start_client: StartClient, model_host_url: str
) -> None:
    _, initialized = await start_client(_options(model_host_url))
    result = initialized.capabilities
    assert result.inline_completion_provider is not None
    assert result.completion_provider is not None
    sync = result.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert result.position_encoding == types.PositionEncodingKind.Utf16


async def test_inline_completion_gives_text_at_the_cursor(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url))
    open_document(client, STATS_URI, STATS)
    result = await client.text_document_inline_completion_async(inline_params())
    assert isinstance(result, types.InlineCompletionList)
    [item] = result.items
    assert isinstance(item.insert_text, str)
    assert item.insert_text.strip()
    assert item.range == types.Range(STATS_BODY, STATS_BODY)
    # The body is indented already: the suggestion continues it, not the indentation.
    assert not item.insert_text.startswith((" ", "\t"))


async def test_completion_item_edits_from_the_word_being_typed(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url))
    text = STATS + "ret"
    open_document(client, STATS_URI, text)
    end = types.Position(STATS_BODY.line, len("    ret"))
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(STATS_URI), position=end)
    )
    assert isinstance(result, types.CompletionList)
    assert result.is_incomplete
    [item] = result.items
    edit = item.text_edit
    assert isinstance(edit, types.TextEdit)
    assert edit.range == types.Range(STATS_BODY, end)
    assert edit.new_text.startswith("ret")
    assert len(edit.new_text) > len("ret")


async def test_ranges_follow_the_negotiated_encoding(
    start_client: StartClient, model_host_url: str
) -> None:
    line = 'print("😀 naïve café:", '
    text = f"def greet(name):\n    {line}"
    expected = {
        types.PositionEncodingKind.Utf8: len(f"    {line}".encode()),
        types.PositionEncodingKind.Utf16: len(f"    {line}".encode("utf-16-le")) // 2,
        types.PositionEncodingKind.Utf32: len(f"    {line}"),
    }
    for encoding, character in expected.items():
        capabilities = types.ClientCapabilities(
            general=types.GeneralClientCapabilities(position_encodings=[encoding])
        )
        client, initialized = await start_client(_options(model_host_url), capabilities)
        assert initialized.capabilities.position_encoding == encoding
        open_document(client, STATS_URI, text)
        cursor = types.Position(line=1, character=character)
        result = await client.text_document_inline_completion_async(inline_params(position=cursor))
        assert result is not None
        [item] = result.items
        assert item.range == types.Range(cursor, cursor), encoding


async def test_a_closed_document_is_an_invalid_params_error(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url))
    with pytest.raises(JsonRpcInvalidParams, match="not open"):
        await client.text_document_inline_completion_async(
            inline_params("file:///never/opened.py", types.Position(0, 0))
        )


async def test_disabled_answers_empty_without_asking_the_model(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url, enable=False))
    open_document(client, STATS_URI, STATS)
    result = await client.text_document_inline_completion_async(inline_params())
    assert result is not None
    assert not result.items
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"quill": {"enable": True}})
    )
    result = await client.text_document_inline_completion_async(inline_params())
    assert result is not None
    assert len(result.items) == 1

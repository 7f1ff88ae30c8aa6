"""Inline completion and completion over LSP, from the real host with the packaged model."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient

from tests.conftest import (
    COUNTING,
    COUNTING_END,
    COUNTING_URI,
    STATS,
    STATS_URI,
    StartClient,
    inline_params,
    open_document,
)
from tests.host_metrics import generations_after_counting, generations_asked


def _options(url: str, **extra: object) -> dict[str, object]:
    """One request at a time, no warm-ups, speculations or other suggestions (the requests
    here are asked by hand): the host's counts are exact."""
    return {
        "serverUrl": url,
        "deadlineMs": 30_000,
        "maxNewTokens": 32,
        "lookAhead": False,
        "suggestions": 1,
        **extra,
    }


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
    open_document(client, COUNTING_URI, COUNTING)
    result = await client.text_document_inline_completion_async(
        inline_params(COUNTING_URI, COUNTING_END)
    )
    assert isinstance(result, types.InlineCompletionList)
    [item] = result.items
    assert isinstance(item.insert_text, str)
    assert item.insert_text.startswith("15")  # counting on: any model's next words
    assert item.range == types.Range(COUNTING_END, COUNTING_END)


async def test_completion_item_edits_from_the_word_being_typed(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url))
    text = COUNTING + "15, 1"
    open_document(client, COUNTING_URI, text)
    end = types.Position(0, len(text))
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(COUNTING_URI), position=end
        )
    )
    assert isinstance(result, types.CompletionList)
    assert result.is_incomplete
    [item] = result.items
    edit = item.text_edit
    assert isinstance(edit, types.TextEdit)
    assert edit.range == types.Range(types.Position(0, len(text) - 1), end)  # the word "1"
    assert edit.new_text.startswith("16")  # the word typed, and what the model added


INLINE_CLIENT = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        inline_completion=types.InlineCompletionClientCapabilities()
    )
)


@pytest.mark.parametrize(
    ("capabilities", "setting", "offered"),
    [
        (INLINE_CLIENT, "auto", False),  # VS Code, Neovim 0.12: ghost text only
        (types.ClientCapabilities(), "auto", True),  # Helix, Neovim 0.11's vim.lsp.completion
        (INLINE_CLIENT, "on", True),
        (types.ClientCapabilities(), "off", False),
    ],
)
async def test_completion_items_are_offered_where_there_is_no_ghost_text(
    start_client: StartClient, capabilities: types.ClientCapabilities, setting: str, offered: bool
) -> None:
    options = {"serverUrl": "http://127.0.0.1:9", "completionItems": setting}  # no model needed
    _, initialized = await start_client(options, capabilities)
    assert initialized.capabilities.inline_completion_provider is not None
    assert (initialized.capabilities.completion_provider is not None) == offered


async def test_ghost_text_and_a_completion_item_asked_together_both_arrive(
    start_client: StartClient, model_host_url: str
) -> None:
    """VS Code asks for both on one keystroke when both are offered: one kind of request
    supersedes only its own kind, or each would cancel the other."""
    client, _ = await start_client(_options(model_host_url, completionItems="on"), INLINE_CLIENT)
    open_document(client, COUNTING_URI, COUNTING)
    completion = client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(COUNTING_URI), COUNTING_END)
    )
    inline = client.text_document_inline_completion_async(
        inline_params(COUNTING_URI, COUNTING_END, automatic=True)
    )
    items, ghost = await asyncio.gather(completion, inline)
    assert isinstance(items, types.CompletionList)
    assert ghost is not None
    [item] = items.items
    assert not item.preselect  # the language's own items stay first for Enter
    [ghost_item] = ghost.items
    assert isinstance(ghost_item.insert_text, str)
    assert ghost_item.insert_text.startswith("15")


async def test_ranges_follow_the_negotiated_encoding(
    start_client: StartClient, model_host_url: str
) -> None:
    line = f'print("😀 naïve café:", {COUNTING.removeprefix("digits = [")}'
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
    asked_before = await generations_asked(model_host_url)
    result = await client.text_document_inline_completion_async(inline_params())
    assert result is not None
    assert not result.items
    assert await _last_prompt(client) is None  # no prompt was even built
    # The host counts a request when its answer ends: give a stray one time to show.
    assert await generations_after_counting(model_host_url) == asked_before

    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"quill": {"enable": True}})
    )
    result = await client.text_document_inline_completion_async(inline_params())
    assert result is not None  # answered (what the model wrote is not the point here)
    assert await _last_prompt(client) is not None
    assert await generations_after_counting(model_host_url) == asked_before + 1


async def _last_prompt(client: LanguageClient) -> object:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="quill.lastPrompt")
    )

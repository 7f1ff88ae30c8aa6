"""Suggestions that arrive: a time budget instead of a cliff, typed-through suggestions
answered without the model, and the next suggestion ready when one is accepted. Real
server, real host; what reached the model is read from the host's own counters and the
server's ``quill.stats``."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.conftest import (
    COUNTING,
    COUNTING_END,
    COUNTING_URI,
    StartClient,
    inline_params,
    open_document,
)
from tests.host_metrics import (
    COUNTED_WITHIN_S,
    generations_after_counting,
    generations_asked,
    prompt_tokens,
    tokens_of_finished_generations,
)

# A list the model goes on counting, one element a line, far past any budget.
LIST_LINES = "values = [\n" + "".join(f"    {n},\n" for n in range(1, 13)) + "    "
LIST_URI = "file:///project/values.py"
LIST_END = types.Position(line=LIST_LINES.count("\n"), character=4)


def _options(url: str, **extra: object) -> dict[str, object]:
    """The requests here are asked by hand (Invoked), which would bring other suggestions
    too (``suggestions``): these tests count the generations of the likeliest only."""
    return {"serverUrl": url, "deadlineMs": 30_000, "debounceMs": 0, "suggestions": 1, **extra}


async def _stats(client: LanguageClient) -> dict[str, Any]:
    stats = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="quill.stats")
    )
    assert isinstance(stats, dict)
    return stats


async def _warmed_up(client: LanguageClient) -> None:
    """Returns once the server has finished a warm-up."""
    deadline = time.monotonic() + 60
    while (await _stats(client))["warmups"] < 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def _prompt_tokens_of(request: Awaitable[object], url: str) -> tuple[float, float]:
    """The prompt tokens the host reused and computed for ``request``: its generation
    must run to its end, as the host counts finished ones."""
    await asyncio.sleep(COUNTED_WITHIN_S)
    before = await prompt_tokens(url)
    await request
    await asyncio.sleep(COUNTED_WITHIN_S)
    after = await prompt_tokens(url)
    return after["reused"] - before["reused"], after["computed"] - before["computed"]


def _type(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text)],
        )
    )


async def _ask(client: LanguageClient, uri: str, position: types.Position) -> str:
    result = await client.text_document_inline_completion_async(inline_params(uri, position))
    assert isinstance(result, types.InlineCompletionList)
    return str(result.items[0].insert_text) if result.items else ""


async def test_past_its_time_budget_a_request_returns_the_complete_lines_it_has(
    start_client: StartClient, model_host_url: str
) -> None:
    options = _options(model_host_url, predictMs=1, maxNewTokens=200, lookAhead=False)
    client, _ = await start_client(options)
    open_document(client, LIST_URI, LIST_LINES)
    asked = await generations_asked(model_host_url)
    finished_tokens = await tokens_of_finished_generations(model_host_url)
    started = time.perf_counter()
    text = await _ask(client, LIST_URI, LIST_END)
    elapsed = time.perf_counter() - started
    # Whole lines only, however far the model had got when the budget ran out...
    assert text
    assert all(re.fullmatch(r" *\d+,", line) for line in text.split("\n")), text
    # ...and the model was stopped, not left to write its 200 tokens: the host was asked,
    # and no generation of its ran to the end.
    assert await generations_after_counting(model_host_url) == asked + 1
    assert await tokens_of_finished_generations(model_host_url) == finished_tokens
    print(f"budget 1 ms: {elapsed * 1000:.0f} ms, {text.count(chr(10)) + 1} line(s)")


async def test_past_its_time_budget_a_long_first_line_is_cut_after_a_whole_word(
    start_client: StartClient, model_host_url: str
) -> None:
    """The model goes on counting on one line, far past any budget: the answer is the
    words it has, not the line it would finish a second later."""
    options = _options(model_host_url, predictMs=1, maxNewTokens=200, lookAhead=False)
    client, _ = await start_client(options)
    open_document(client, COUNTING_URI, COUNTING)
    finished_tokens = await tokens_of_finished_generations(model_host_url)
    text = await _ask(client, COUNTING_URI, COUNTING_END)
    assert re.fullmatch(r"15(, \d+)*,? ?", text), text  # whole numbers only
    assert len(text.strip()) >= 8
    await generations_after_counting(model_host_url)
    assert await tokens_of_finished_generations(model_host_url) == finished_tokens  # stopped


async def test_a_typed_through_suggestion_is_answered_without_asking_the_model(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url, lookAhead=False))
    open_document(client, COUNTING_URI, COUNTING)
    shown = await _ask(client, COUNTING_URI, COUNTING_END)
    assert len(shown) > 2
    asked = await generations_after_counting(model_host_url)
    for typed in range(1, 3):  # the user types the suggestion's first characters
        text = COUNTING + shown[:typed]
        _type(client, COUNTING_URI, typed + 1, text)
        started = time.perf_counter()
        rest = await _ask(client, COUNTING_URI, types.Position(0, len(text)))
        assert rest == shown[typed:]
        assert time.perf_counter() - started < 0.2  # no debounce, no model
    assert await generations_after_counting(model_host_url) == asked  # the host saw nothing
    stats = await _stats(client)
    assert (stats["typeThroughHits"], stats["modelCalls"]) == (2, 1)


async def test_an_accepted_suggestions_successor_comes_from_the_speculation(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url, lookAhead=True))
    open_document(client, COUNTING_URI, COUNTING)
    shown = await _ask(client, COUNTING_URI, COUNTING_END)
    assert shown
    deadline = time.monotonic() + 30
    while (await _stats(client))["speculationsStarted"] < 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    accepted = COUNTING + shown  # Tab: the editor inserts it, then asks again at its end
    _type(client, COUNTING_URI, 2, accepted)
    asked = await generations_asked(model_host_url)
    await _ask(client, COUNTING_URI, types.Position(0, len(accepted)))
    stats = await _stats(client)
    assert stats["speculativeHits"] == 1  # answered by what was computed ahead...
    assert stats["modelCalls"] == 1  # ...not by a model call of its own
    # The only generation the host may have seen since is the next speculation, started
    # from the answer just given (and the warm-up of the opened document, if it was slow).
    assert await generations_asked(model_host_url) <= asked + 2


async def test_an_accepted_suggestions_next_lines_are_read_on_from_its_own_answer(
    start_client: StartClient, model_host_url: str
) -> None:
    """The model goes on writing a shown suggestion's answer: once it is accepted, the
    lines that follow come from that answer, with no generation asked for them."""
    options = _options(model_host_url, lookAhead=True, coldPromptTokens=0, predictMs=1)
    client, _ = await start_client({**options, "maxNewTokens": 48})
    open_document(client, LIST_URI, LIST_LINES)
    await _warmed_up(client)  # the warm-up on opening, out of the way
    asked = await generations_asked(model_host_url)
    shown = await _ask(client, LIST_URI, LIST_END)
    assert re.fullmatch(r"\d+,", shown), shown  # a budget of 1 ms: the first line only
    accepted = LIST_LINES + shown + "\n    "  # Tab, then Enter (and the indentation)
    _type(client, LIST_URI, 2, accepted)
    following = await _ask(client, LIST_URI, types.Position(LIST_END.line + 1, 4))
    assert re.fullmatch(r"\d+,", following), following
    assert int(following[:-1]) == int(shown[:-1]) + 1  # the list counted on
    stats = await _stats(client)
    assert (stats["readOn"], stats["speculativeHits"], stats["modelCalls"]) == (1, 1, 1)
    # One generation for both; since, at most the speculation on the second.
    assert await generations_asked(model_host_url) <= asked + 2


async def test_where_the_editor_says_typing_starts_is_warmed_before_the_first_request(
    start_client: StartClient, model_host_url: str
) -> None:
    # Longer than the prompt window, so opening it warms nothing by itself.
    text = "".join(f"def step_{n}(x):\n    return x + {n}\n\n\n" for n in range(40))
    uri = "file:///project/steps.py"
    # A short answer that runs to its end: the host counts the prompt of finished ones.
    options = _options(model_host_url, lookAhead=True, maxPrefixChars=600, maxNewTokens=4)
    client, _ = await start_client({**options, "predictMs": 30_000})
    open_document(client, uri, text)
    line_start = types.Position(line=4 * 20 + 2, character=0)  # a blank line mid-file
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="quill.warmAt",
            arguments=[{"uri": uri, "position": {"line": line_start.line, "character": 0}}],
        )
    )
    await _warmed_up(client)
    reused, computed = await _prompt_tokens_of(_ask(client, uri, line_start), model_host_url)
    # The prompt was computed by the warm-up: the request computes only its last token.
    assert reused > 50
    assert computed <= 2


async def test_the_window_typing_moves_on_to_is_warmed_before_the_cursor_gets_there(
    start_client: StartClient, model_host_url: str
) -> None:
    """The file window's start moves on every 400 characters typed here (a third of
    ``maxPrefixChars``): a moved window is a new prompt, computed whole. A request a few
    lines before a move has it warmed, so the first request past it computes only what
    follows the cursor."""
    text = "".join(f"def step_{n}(x):\n    return x + {n}\n\n\n" for n in range(120))
    uri = "file:///project/steps.py"
    options = _options(model_host_url, lookAhead=True, coldPromptTokens=0, maxNewTokens=4)
    client, _ = await start_client({**options, "maxPrefixChars": 1200, "predictMs": 30_000})
    open_document(client, uri, text)  # longer than the window: opening warms nothing
    moves_at = 3600  # the window starts near 2,400 before it, near 2,800 past it
    before = text.rindex("\n\n\n", 0, moves_at - 100) + 1  # a blank line just before
    past = text.index("\n\n\n", moves_at) + 1  # and the first one past it
    assert moves_at - before < 400
    assert past - moves_at < 400

    def position(offset: int) -> types.Position:
        return types.Position(line=text.count("\n", 0, offset), character=0)

    await _ask(client, uri, position(before))
    await _warmed_up(client)  # the window past the move
    reused, computed = await _prompt_tokens_of(_ask(client, uri, position(past)), model_host_url)
    print(f"past the move: {reused:.0f} prompt tokens reused, {computed:.0f} computed")
    assert computed < reused / 2


async def test_a_place_to_warm_must_be_a_document_and_a_position(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url))
    with pytest.raises(JsonRpcException, match=re.escape("quill.warmAt takes")):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="quill.warmAt", arguments=[{"uri": LIST_URI}])
        )


async def _last_prompt(client: LanguageClient) -> dict[str, Any]:
    prompt = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="quill.lastPrompt")
    )
    assert isinstance(prompt, dict)
    return prompt


async def test_a_documents_suggestions_take_a_small_prompt_until_its_full_one_is_warm(
    start_client: StartClient, model_host_url: str
) -> None:
    # Longer than the prompt window, so opening it warms nothing by itself.
    text = "".join(f"def step_{n}(x):\n    return x + {n}\n\n\n" for n in range(40))
    uri = "file:///project/steps.py"
    options = _options(
        model_host_url, lookAhead=True, maxPrefixChars=1200, maxNewTokens=4, coldPromptTokens=64
    )
    # A short answer that runs to its end: the host counts the prompt of finished ones.
    client, _ = await start_client({**options, "predictMs": 30_000})
    open_document(client, uri, text)
    line_start = types.Position(line=4 * 20 + 2, character=0)
    await _ask(client, uri, line_start)
    first = await _last_prompt(client)
    # The first request did not wait for the full prompt: it took the small one, which
    # holds the lines just before the cursor...
    assert (first["small"], first["budget"]) == (True, 64)
    assert first["tokens"] <= 64
    assert first["text"].rstrip().endswith("return x + 20")
    # ...and the full one was computed after it, in the background.
    await _warmed_up(client)
    next_line = types.Position(line=line_start.line + 1, character=0)
    reused, computed = await _prompt_tokens_of(_ask(client, uri, next_line), model_host_url)
    second = await _last_prompt(client)
    assert (second["small"], second["budget"]) == (False, 2048)
    assert (await _stats(client))["smallPrompts"] == 1
    assert second["tokens"] > 64
    # The next request, one line on, took the full prompt, and found it warm.
    assert reused > 64
    assert computed <= 8

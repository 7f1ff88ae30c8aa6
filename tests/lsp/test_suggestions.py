"""Several suggestions to cycle through: an explicit request (the editor's next-suggestion
key) is answered with the likeliest suggestion and those that begin with the model's next
likeliest first tokens; typing gets the next where the likeliest is empty at a line start.
Real server, real host: the order is checked against the host's own report of its
likeliest first tokens."""

from __future__ import annotations

from typing import Any

import httpx
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.conftest import StartClient, inline_params, open_document
from tests.host_metrics import generations_after_counting

SOURCE = (
    "import os\n\n\ndef list_python_files(folder: str) -> list[str]:\n"
    '    """The Python files in the folder, sorted."""\n    '
)
URI = "file:///project/files.py"
END = types.Position(line=5, character=4)


async def _suggestions(client: LanguageClient, automatic: bool) -> list[str]:
    result = await client.text_document_inline_completion_async(
        inline_params(URI, END, automatic=automatic)
    )
    assert isinstance(result, types.InlineCompletionList)
    return [str(item.insert_text) for item in result.items]


def _first_tokens(host_url: str, prompt: str, count: int) -> list[dict[str, Any]]:
    """The host's likeliest first tokens for ``prompt``, asked of it directly."""
    parameters = {"max_new_tokens": 1, "top_n_tokens": count, "details": True}
    answer = httpx.post(f"{host_url}/generate", json={"inputs": prompt, "parameters": parameters})
    assert answer.status_code == 200, answer.text
    top: list[dict[str, Any]] = answer.json()["details"]["top_tokens"][0]
    return top


async def test_the_next_suggestion_key_offers_others_in_the_order_of_their_first_token(
    start_client: StartClient, model_host_url: str
) -> None:
    options = {
        "serverUrl": model_host_url,
        "deadlineMs": 30_000,
        "debounceMs": 0,
        "lookAhead": False,
        "maxNewTokens": 24,
        "suggestions": 3,
    }
    client, _ = await start_client(options)
    open_document(client, URI, SOURCE)
    [likeliest] = await _suggestions(client, automatic=True)  # typing: the likeliest only
    asked = await generations_after_counting(model_host_url)

    shown = await _suggestions(client, automatic=False)  # Alt+]: the others too
    assert shown[0] == likeliest
    assert 2 <= len(shown) <= 3
    assert len(set(shown)) == len(shown)
    assert all(text.strip() for text in shown)
    # The likeliest, on screen already, was not written again: the host was asked for
    # the first tokens, and for one branch per other suggestion at most.
    assert await generations_after_counting(model_host_url) - asked <= 3

    prompt = await client.workspace_execute_command_async(
        types.ExecuteCommandParams("quill.lastPrompt", [])
    )
    top = [token["text"].strip() for token in _first_tokens(model_host_url, prompt["text"], 3)]
    ranks = [_rank(text, top) for text in shown]
    assert ranks[0] == 0, (shown, top)
    assert ranks == sorted(set(ranks)), (shown, top)  # each its own first token, in order


def _rank(text: str, top: list[str]) -> int:
    """Which of the likeliest first tokens ``text`` begins with (the longest that fits:
    ``files`` before ``file``)."""
    fits = [rank for rank, token in enumerate(top) if token and text.startswith(token)]
    assert fits, (text, top)
    return max(fits, key=lambda rank: len(top[rank]))


# A finished script: its likeliest answer at the next line start is the end of the text,
# an empty suggestion.
FINISHED = (
    "import os\n\n\ndef main() -> None:\n    print(os.getcwd())\n\n\n"
    'if __name__ == "__main__":\n    main()\n'
)
FINISHED_END = types.Position(line=FINISHED.count("\n"), character=0)


async def test_where_the_likeliest_is_empty_at_a_line_start_typing_gets_the_next(
    start_client: StartClient, model_host_url: str
) -> None:
    options = {"serverUrl": model_host_url, "deadlineMs": 30_000, "lookAhead": False}
    alone, _ = await start_client({**options, "suggestions": 1})
    open_document(alone, URI, FINISHED)
    result = await alone.text_document_inline_completion_async(
        inline_params(URI, FINISHED_END, automatic=True)
    )
    assert isinstance(result, types.InlineCompletionList)
    assert not result.items, "the premise: the likeliest suggestion here is empty"

    client, _ = await start_client({**options, "suggestions": 3})
    open_document(client, URI, FINISHED)
    result = await client.text_document_inline_completion_async(
        inline_params(URI, FINISHED_END, automatic=True)
    )
    assert isinstance(result, types.InlineCompletionList)
    assert result.items
    shown = str(result.items[0].insert_text)
    prompt = await client.workspace_execute_command_async(
        types.ExecuteCommandParams("quill.lastPrompt", [])
    )
    top = [token["text"].strip() for token in _first_tokens(model_host_url, prompt["text"], 5)]
    assert _rank(shown, top) > 0, (shown, top)  # not the likeliest's first token

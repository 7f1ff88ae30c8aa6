"""Where prompt token counts come from: the server's tokenize route, else the model's
tokenizer file (the ``tokenizerFile`` setting), else the low estimate.

The tokenizer here is a real ``tokenizer.json`` that makes every character a token, so a
prompt counted with it is told apart from one counted by the server (three characters a
token in the stand-in) or estimated (two and a half).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.conftest import STATS, STATS_URI, StartClient, inline_params, open_document
from tests.fake_tgi import FakeTgi, serve_fake_tgi
from tests.tokenizer_files import character_tokenizer

RESERVE_TOKENS = 32  # what the prompt builder keeps free for the template's own tokens


async def _last_prompt(start_client: StartClient, dialect: str, **settings: Any) -> Any:
    fake = FakeTgi("ok", dialect=dialect)
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client(
            {"serverUrl": url, "lookAhead": False, "workspaceIndex": False, **settings}
        )
        open_document(client, STATS_URI, STATS)
        await client.text_document_inline_completion_async(inline_params())
        prompt = await client.workspace_execute_command_async(
            types.ExecuteCommandParams("quill.lastPrompt", [])
        )
        return prompt, client


async def test_a_server_that_cannot_count_is_counted_with_the_tokenizer_file(
    start_client: StartClient, tmp_path: Path
) -> None:
    tokenizer = character_tokenizer(tmp_path)
    prompt, _ = await _last_prompt(start_client, "ollama", tokenizerFile=str(tokenizer))
    assert prompt["tokenCounts"] == "tokenizer file"
    assert prompt["exactTokens"] is True
    assert prompt["format"] == "prefix"  # no suffix, no template tokens: the text is all
    assert prompt["tokens"] == RESERVE_TOKENS + len(prompt["text"])


async def test_a_directory_holding_the_tokenizer_file_is_enough(
    start_client: StartClient, tmp_path: Path
) -> None:
    character_tokenizer(tmp_path)
    prompt, _ = await _last_prompt(start_client, "ollama", tokenizerFile=str(tmp_path))
    assert prompt["tokenCounts"] == "tokenizer file"
    assert prompt["tokens"] == RESERVE_TOKENS + len(prompt["text"])


async def test_without_a_tokenizer_file_counts_are_estimated(start_client: StartClient) -> None:
    prompt, _ = await _last_prompt(start_client, "ollama")
    assert prompt["tokenCounts"] == "estimate"
    assert prompt["exactTokens"] is False
    assert prompt["tokens"] < RESERVE_TOKENS + len(prompt["text"])  # estimated low


@pytest.mark.parametrize("content", [None, "not a tokenizer"])
async def test_a_tokenizer_file_that_cannot_be_read_is_reported_and_estimated(
    start_client: StartClient, tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "tokenizer.json"
    if content is not None:
        path.write_text(content)
    prompt, client = await _last_prompt(start_client, "ollama", tokenizerFile=str(path))
    assert prompt["tokenCounts"] == "estimate"
    assert prompt["text"]  # the suggestion went on without exact counts
    logged = [message.message for message in client.log_messages]
    assert any(str(path) in line and "estimated" in line for line in logged), logged


@pytest.mark.parametrize("dialect", ["tgi", "openai"])
async def test_the_servers_own_count_comes_before_the_file(
    start_client: StartClient, tmp_path: Path, dialect: str
) -> None:
    tokenizer = character_tokenizer(tmp_path)
    prompt, _ = await _last_prompt(start_client, dialect, tokenizerFile=str(tokenizer))
    assert prompt["tokenCounts"] == "server"
    assert prompt["tokens"] < RESERVE_TOKENS + len(prompt["text"])  # three characters a token

"""An instruct model on the embedded host, end to end: completions and code actions go
through the host's ``/v1/chat/completions`` with the model's own chat template.

The model is the packaged Gemma 3 270M with Gemma 3's chat template added (see
``tests/chat_model.py``); its id ends in ``-chat``, which is how Quill tells an instruct
model. The tests check the plumbing (a chat call that the host answers, an answer the
editor gets), not what a 270M base model writes in a chat.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator

import httpx
import pytest
from lsprotocol import types
from prometheus_client.parser import text_string_to_metric_families
from pygls.exceptions import JsonRpcException

from tests.chat_model import make_chat_gguf
from tests.conftest import (
    STATS,
    STATS_URI,
    Host,
    StartClient,
    inline_params,
    open_document,
    start_host,
    stop_host,
)
from tests.host_metrics import COUNTED_WITHIN_S
from tests.lsp.test_code_actions import (
    RESOLVE,
    SOURCE,
    URI,
    add_docstring_action,
    apply_edit,
)

pytestmark = pytest.mark.model

CHAT_ROUTE = "/v1/chat/completions"


@pytest.fixture(scope="module")
def chat_model_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    folder = tmp_path_factory.mktemp("chat-model")
    running = start_host(["--model", str(make_chat_gguf(folder))], folder)
    try:
        yield running
    finally:
        stop_host(running)


def chat_answers(url: str) -> dict[str, float]:
    """The host's chat requests so far, by HTTP status."""
    text = httpx.get(f"{url}/metrics").text
    return {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "quill_host_requests_total" and sample.labels["route"] == CHAT_ROUTE
    }


async def _counted() -> None:
    await asyncio.sleep(COUNTED_WITHIN_S)


def _options(url: str, **extra: object) -> dict[str, object]:
    return {"serverUrl": url, "deadlineMs": 60_000, "lookAhead": False, **extra}


async def test_a_completion_is_a_chat_the_host_answers(
    start_client: StartClient, chat_model_host: Host
) -> None:
    url = chat_model_host.url
    assert chat_model_host.model_id.endswith("-chat")
    client, _ = await start_client(_options(url, promptFormat="auto", maxNewTokens=32))
    open_document(client, STATS_URI, STATS)
    before = chat_answers(url)
    result = await client.text_document_inline_completion_async(inline_params())
    assert result is not None
    await _counted()
    after = chat_answers(url)
    assert after.get("200", 0) == before.get("200", 0) + 1, after
    assert set(after) == {"200"}, after  # no 404 (no route) nor 422 (no template)
    prompt = await client.workspace_execute_command_async(
        types.ExecuteCommandParams("quill.lastPrompt", [])
    )
    assert prompt["format"] == "chat"
    assert prompt["messages"]
    assert not client.messages  # nothing went wrong that the user is told of


async def test_a_code_action_resolves_through_the_chat(
    start_client: StartClient, chat_model_host: Host
) -> None:
    url = chat_model_host.url
    client, _ = await start_client(_options(url), RESOLVE)
    open_document(client, URI, SOURCE)
    action = await add_docstring_action(client)
    before = chat_answers(url)
    refusal = ""
    try:
        resolved = await client.code_action_resolve_async(action)
    except JsonRpcException as error:
        refusal = error.message
    if refusal:
        # The chat worked, but a 270M base model's answer may hold no usable edit: the
        # user is told so. Anything else (no route, no template) is a failure.
        unusable = ("suggested no change", "does not parse", "gave no code")
        assert any(reason in refusal for reason in unusable), refusal
    else:
        assert resolved.edit is not None
        ast.parse(apply_edit(SOURCE, resolved.edit, 1))
    await _counted()
    after = chat_answers(url)
    assert after.get("200", 0) == before.get("200", 0) + 1, after
    assert set(after) == {"200"}, after

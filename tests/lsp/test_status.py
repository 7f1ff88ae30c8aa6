"""``quill/status``: the editor hears when a completion starts, ends or fails, and when
suggestions are switched off."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.conftest import STATS, STATS_BODY, STATS_URI, StartClient, open_document
from tests.fake_tgi import closed_port_url

STATUS = "quill/status"


def _record_status(client: LanguageClient) -> list[dict[str, Any]]:
    """Every ``quill/status`` the server sends to ``client``, as plain dicts."""
    received: list[dict[str, Any]] = []

    @client.feature(STATUS)
    def on_status(params: Any) -> None:
        received.append({key: getattr(params, key) for key in params._fields})

    return received


async def _until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def _inline() -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(STATS_URI),
        position=STATS_BODY,
    )


async def test_a_completion_goes_working_then_ready(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client({"serverUrl": model_host_url, "deadlineMs": 30_000})
    received = _record_status(client)
    await _until(lambda: received)  # sent after `initialized`
    assert received == [{"state": "ready"}]
    open_document(client, STATS_URI, STATS)
    result = await client.text_document_inline_completion_async(_inline())
    assert isinstance(result, types.InlineCompletionList)  # whatever the model wrote
    await _until(lambda: len(received) == 3)
    assert received[1:] == [{"state": "working"}, {"state": "ready"}]


async def test_a_failure_is_an_error_with_its_message(start_client: StartClient) -> None:
    client, _ = await start_client({"serverUrl": closed_port_url(), "deadlineMs": 3000})
    received = _record_status(client)
    open_document(client, STATS_URI, STATS)
    await client.text_document_inline_completion_async(_inline())
    await _until(lambda: received and received[-1]["state"] == "error")
    assert "not reachable" in received[-1]["message"]


async def test_settings_disable_and_enable(start_client: StartClient, model_host_url: str) -> None:
    client, _ = await start_client({"serverUrl": model_host_url, "enable": False})
    received = _record_status(client)
    await _until(lambda: received)
    assert received == [{"state": "disabled"}]
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"quill": {"enable": True}})
    )
    await _until(lambda: len(received) == 2)
    assert received[-1] == {"state": "ready"}

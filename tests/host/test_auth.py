"""The host's exposure rules: loopback is open to the user, anything else needs a token."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

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

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def protected_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    running = start_host(["--api-token", TOKEN], tmp_path_factory.mktemp("protected"))
    try:
        yield running
    finally:
        stop_host(running)


def test_a_non_loopback_address_without_a_token_is_refused() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "quill_host", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert completed.returncode == 2
    assert "without an API token" in completed.stderr
    assert completed.stdout == ""


def test_requests_need_the_token_except_health(protected_host: Host) -> None:
    body = {"inputs": "def f():\n", "parameters": {"max_new_tokens": 2}}
    with httpx.Client(base_url=protected_host.url, timeout=30) as client:
        assert client.get("/health").status_code == 200
        refused = client.post("/generate", json=body)
        assert refused.status_code == 401
        assert refused.json()["error"] == "missing or wrong API token"
        wrong = client.post("/generate", json=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        good = client.post("/generate", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert good.status_code == 200


async def test_the_language_server_sends_the_configured_token(
    start_client: StartClient, protected_host: Host
) -> None:
    client, _ = await start_client(
        {"serverUrl": protected_host.url, "apiToken": TOKEN, "deadlineMs": 30_000}
    )
    open_document(client, STATS_URI, STATS)
    result = await client.text_document_inline_completion_async(inline_params())
    assert result is not None
    assert result.items


async def test_a_missing_token_is_reported_once_and_clearly(
    start_client: StartClient, protected_host: Host
) -> None:
    client, _ = await start_client({"serverUrl": protected_host.url, "deadlineMs": 30_000})
    open_document(client, STATS_URI, STATS)
    for _ in range(2):
        result = await client.text_document_inline_completion_async(inline_params())
        assert result is not None
        assert not result.items
    [message] = client.messages
    assert "API token" in message.message
    assert protected_host.url in message.message

"""With no model server configured, ``quill serve`` starts the embedded host itself, and
a second editor window finds and shares it.

Whether a completion reached the host is read from the host's own counters, not from
what the model wrote: these tests are about which process answers, not about the text
(``lookAhead`` is off, so warm-ups and speculations do not add to the counts).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types

from tests.conftest import (
    COUNTING,
    COUNTING_END,
    COUNTING_URI,
    StartClient,
    inline_params,
    open_document,
)
from tests.host_metrics import generations_after_counting


@pytest.fixture
def cache_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for registry in tmp_path.glob("host*.json"):  # hosts outlive their editors by design
        os.kill(json.loads(registry.read_text())["pid"], signal.SIGTERM)


async def _complete(client: object) -> None:
    """Open the counting document and ask for a completion; it must be answered."""
    open_document(client, COUNTING_URI, COUNTING)  # type: ignore[arg-type]
    result = await client.text_document_inline_completion_async(  # type: ignore[attr-defined]
        inline_params(COUNTING_URI, COUNTING_END)
    )
    assert isinstance(result, types.InlineCompletionList)


def _host_url(cache_dir: Path) -> str:
    url: str = json.loads((cache_dir / "host.json").read_text())["url"]
    return url


async def test_the_embedded_host_is_started_once_and_shared(
    start_client: StartClient, cache_dir: Path
) -> None:
    env = {"QUILL_CACHE_DIR": str(cache_dir)}
    # The first completion waits for the model to load, so give it a long deadline.
    options = {"deadlineMs": 60_000, "maxNewTokens": 16, "lookAhead": False, "suggestions": 1}
    first, _ = await start_client(options, env=env)
    await _complete(first)
    record = json.loads((cache_dir / "host.json").read_text())
    assert record["url"].startswith("http://127.0.0.1:")
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    assert await generations_after_counting(record["url"]) == 1  # the model was asked there

    second, _ = await start_client(options, env=env)
    await _complete(second)
    assert json.loads((cache_dir / "host.json").read_text()) == record  # the same host
    assert await generations_after_counting(record["url"]) == 2  # and it answered both


async def test_the_host_model_setting_starts_a_host_of_that_model(
    start_client: StartClient, cache_dir: Path
) -> None:
    """``hostModel`` names the code model: it gets a shared host of its own (the default
    model's, which other windows may use, is left alone), assembled from its packages."""
    env = {"QUILL_CACHE_DIR": str(cache_dir)}
    options = {
        "hostModel": "qwen2.5-coder-1.5b",
        "deadlineMs": 120_000,
        "maxNewTokens": 8,
        "lookAhead": False,
    }
    client, _ = await start_client(options, env=env)
    await _complete(client)
    prompt = await client.workspace_execute_command_async(
        types.ExecuteCommandParams("quill.lastPrompt", [])
    )
    assert prompt["model"] == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    [registry] = cache_dir.glob("host-*.json")
    assert "qwen2.5-coder-1.5b" in registry.name
    assert not (cache_dir / "host.json").exists()


def _hosts_using(registry: Path) -> int:
    """Running host processes that announce themselves through ``registry``."""
    count = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"quill_host" in arguments and str(registry).encode() in arguments:
            count += 1
    return count


async def test_two_windows_starting_together_share_one_host(
    start_client: StartClient, cache_dir: Path
) -> None:
    env = {"QUILL_CACHE_DIR": str(cache_dir)}
    options = {"deadlineMs": 60_000, "maxNewTokens": 8, "lookAhead": False, "suggestions": 1}
    first, _ = await start_client(options, env=env)  # both start the host at `initialized`
    second, _ = await start_client(options, env=env)
    await asyncio.gather(_complete(first), _complete(second))
    assert _hosts_using(cache_dir / "host.json") == 1
    assert await generations_after_counting(_host_url(cache_dir)) == 2  # both asked the one


async def test_a_corrupt_registry_and_loosened_cache_directory_are_repaired(
    start_client: StartClient, cache_dir: Path
) -> None:
    (cache_dir / "host.json").write_bytes(b"\x00{not json")
    cache_dir.chmod(0o755)  # loosened by someone: put back to private
    options = {"deadlineMs": 60_000, "maxNewTokens": 8, "lookAhead": False, "suggestions": 1}
    client, _ = await start_client(options, env={"QUILL_CACHE_DIR": str(cache_dir)})
    await _complete(client)
    assert _host_url(cache_dir).startswith("http://")
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    assert await generations_after_counting(_host_url(cache_dir)) == 1

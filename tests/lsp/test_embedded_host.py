"""With no model server configured, ``quill serve`` starts the embedded host itself, and
a second editor window finds and shares it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types

from tests.conftest import STATS, STATS_URI, StartClient, inline_params, open_document


@pytest.fixture
def cache_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    registry = tmp_path / "host.json"
    if registry.exists():  # the host outlives its editors by design: stop it here
        os.kill(json.loads(registry.read_text())["pid"], signal.SIGTERM)


async def _complete(client: object) -> types.InlineCompletionList | None:
    return await client.text_document_inline_completion_async(  # type: ignore[attr-defined,no-any-return]
        inline_params()
    )


async def test_the_embedded_host_is_started_once_and_shared(
    start_client: StartClient, cache_dir: Path
) -> None:
    env = {"QUILL_CACHE_DIR": str(cache_dir)}
    # The first completion waits for the model to load, so give it a long deadline.
    options = {"deadlineMs": 60_000, "maxNewTokens": 16}
    first, _ = await start_client(options, env=env)
    open_document(first, STATS_URI, STATS)
    result = await _complete(first)
    assert result is not None
    assert result.items
    record = json.loads((cache_dir / "host.json").read_text())
    assert record["url"].startswith("http://127.0.0.1:")
    assert cache_dir.stat().st_mode & 0o777 == 0o700

    second, _ = await start_client(options, env=env)
    open_document(second, STATS_URI, STATS)
    result = await _complete(second)
    assert result is not None
    assert result.items
    assert json.loads((cache_dir / "host.json").read_text()) == record  # the same host


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
    options = {"deadlineMs": 60_000, "maxNewTokens": 8}
    first, _ = await start_client(options, env=env)  # both start the host at `initialized`
    second, _ = await start_client(options, env=env)
    for client in (first, second):
        open_document(client, STATS_URI, STATS)
    results = await asyncio.gather(_complete(first), _complete(second))
    assert all(result is not None and result.items for result in results)
    assert _hosts_using(cache_dir / "host.json") == 1


async def test_a_corrupt_registry_and_loosened_cache_directory_are_repaired(
    start_client: StartClient, cache_dir: Path
) -> None:
    (cache_dir / "host.json").write_bytes(b"\x00{not json")
    cache_dir.chmod(0o755)  # loosened by someone: put back to private
    options = {"deadlineMs": 60_000, "maxNewTokens": 8}
    client, _ = await start_client(options, env={"QUILL_CACHE_DIR": str(cache_dir)})
    open_document(client, STATS_URI, STATS)
    result = await _complete(client)
    assert result is not None
    assert result.items
    assert json.loads((cache_dir / "host.json").read_text())["url"].startswith("http://")
    assert cache_dir.stat().st_mode & 0o777 == 0o700

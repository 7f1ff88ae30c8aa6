"""Two real hosts behind the real vLLM router, as a team runs replicas: ``quill serve``
types in two documents through the router, and each document stays on one replica, keeps
its KV-cache reuse, and moves to the other replica when its own dies.

The router (``vllm-router``, ``consistent_hash``) picks a replica by the ``X-Session-ID``
Quill sends per document. Which replica answered is read from each host's own counters,
not from what the model wrote.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest_asyncio
from lsprotocol import types
from prometheus_client.parser import text_string_to_metric_families
from pytest_lsp import LanguageClient

from quill_host.launcher.vllm_command import Replica, router_command
from tests.conftest import Host, StartClient, inline_params, open_document, start_host, stop_host
from tests.host_metrics import COUNTED_WITHIN_S, generations_asked
from tests.model_servers import free_port

ROUTER = Path(sys.executable).with_name("vllm-router")
HEALTH_INTERVAL_S = 1
DEADLINE_MS = 5000
TYPED_LINES = 5

MODULE = "".join(
    f'def step_{n}(values):\n    """Step {n} of the pipeline."""\n'
    f"    return [value * {n} for value in values]\n\n\n"
    for n in range(12)
)
CANDIDATES = 12
"""Documents tried until one lands on each replica: all on one has a chance of 2 in 4,096."""


def document(name: str) -> str:
    return MODULE.replace("step_", f"{name}_step_") + f"def run_{name}(values):\n    "


@contextmanager
def running_router(workers: list[str]) -> Iterator[str]:
    """``vllm-router`` in front of ``workers``, started with the command ``quill launch
    --replicas`` plans (checking health every second here, and acting on one failure)."""
    port = free_port()
    replicas = [Replica((index,), int(url.rsplit(":", 1)[1])) for index, url in enumerate(workers)]
    planned = router_command(
        replicas, host="127.0.0.1", port=port, health_interval_s=HEALTH_INTERVAL_S
    ).argv
    process = subprocess.Popen(
        [
            str(ROUTER), *planned[1:],
            "--health-failure-threshold", "1",
            "--prometheus-host", "127.0.0.1",
            "--prometheus-port", str(free_port()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _healthy(url):
            assert process.poll() is None, "vllm-router exited"
            assert time.monotonic() < deadline, "vllm-router did not become healthy"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest_asyncio.fixture
async def hosts(tmp_path: Path) -> AsyncIterator[list[Host]]:
    """Three hosts of the packaged model: two replicas and one to compare with alone."""
    started = []
    for name in ("first", "second", "alone"):
        (tmp_path / name).mkdir()
        started.append(start_host(["--model", "default"], tmp_path / name))
    yield started
    for host in started:
        if host.process.poll() is None:
            stop_host(host)


async def _prompt_tokens(url: str) -> tuple[float, float]:
    """(reused, computed) prompt tokens the host has counted."""
    async with httpx.AsyncClient(base_url=url) as http:
        text = (await http.get("/metrics")).text
    counted = {"reused": 0.0, "computed": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "quill_host_prompt_tokens_total":
                counted[sample.labels["source"]] += sample.value
    return counted["reused"], counted["computed"]


async def _reuse_ratio(urls: list[str], before: list[tuple[float, float]]) -> float:
    reused = computed = 0.0
    for url, (reused_before, computed_before) in zip(urls, before, strict=True):
        now_reused, now_computed = await _prompt_tokens(url)
        reused += now_reused - reused_before
        computed += now_computed - computed_before
    return reused / (reused + computed)


class Typist:
    """Types lines into documents, asking for a suggestion at each new line start."""

    def __init__(self, client: LanguageClient, folder: Path) -> None:
        self.client = client
        self.folder = folder
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}

    def uri(self, name: str) -> str:
        return (self.folder / f"{name}.py").as_uri()

    async def type_line(self, name: str, line: int) -> float:
        """Type one more line (one no model suggests whole, so the model is asked each
        time) and ask for a suggestion at the next line start; the seconds it took."""
        if name not in self.texts:
            self.texts[name], self.versions[name] = document(name), 1
            open_document(self.client, self.uri(name), self.texts[name])
        self.texts[name] += f"marker_{name}_{line} = len(values) + {line * 7}\n    "
        self.versions[name] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(self.versions[name], self.uri(name)),
                [types.TextDocumentContentChangeWholeDocument(self.texts[name])],
            )
        )
        lines = self.texts[name].split("\n")
        position = types.Position(len(lines) - 1, len(lines[-1]))
        started = time.perf_counter()
        await self.client.text_document_inline_completion_async(
            inline_params(self.uri(name), position)
        )
        return time.perf_counter() - started


async def _which(urls: list[str], counts: list[float]) -> str | None:
    """The one host whose generation count moved since ``counts``; None if none did."""
    await asyncio.sleep(COUNTED_WITHIN_S)
    moved = [url for url, before in zip(urls, counts, strict=True)
             if await generations_asked(url) > before]  # fmt: skip
    assert len(moved) <= 1, f"one request reached {moved}"
    return moved[0] if moved else None


async def _one_on_each(typist: Typist, urls: list[str]) -> list[str]:
    """Documents, one per replica, found by typing into candidates: where the router sends
    a document is a hash of its key, which Quill salts per process."""
    homes: dict[str, str] = {}
    for number in range(CANDIDATES):
        name = f"doc{number}"
        counts = [await generations_asked(url) for url in urls]
        await typist.type_line(name, 0)
        url = await _which(urls, counts)
        if url is not None and url not in homes:
            homes[url] = name
        if len(homes) == len(urls):
            return [homes[url] for url in urls]
    raise AssertionError(f"{CANDIDATES} documents all went to {list(homes)}")


async def _replay(typist: Typist, names: list[str], urls: list[str]) -> dict[str, set[str]]:
    """Type ``TYPED_LINES`` more lines into each document in turn; the hosts that served
    each document."""
    served: dict[str, set[str]] = {name: set() for name in names}
    for line in range(1, TYPED_LINES + 1):
        for name in names:
            counts = [await generations_asked(url) for url in urls]
            await typist.type_line(name, line)
            if (url := await _which(urls, counts)) is not None:
                served[name].add(url)
    return served


async def test_documents_stick_to_a_replica_keep_their_reuse_and_survive_its_death(
    start_client: StartClient, hosts: list[Host], tmp_path: Path
) -> None:
    first, second, alone = hosts
    replicas = [first.url, second.url]
    # Generations short enough to finish (the host counts reuse when one does).
    options = {"debounceMs": 0, "lookAhead": False, "deadlineMs": DEADLINE_MS, "maxNewTokens": 8}
    with running_router(replicas) as router:
        client, _ = await start_client({**options, "serverUrl": router}, workspace=tmp_path)
        typist = Typist(client, tmp_path)
        names = await _one_on_each(typist, replicas)
        before = [await _prompt_tokens(url) for url in replicas]
        served = await _replay(typist, names, replicas)
        ratio = await _reuse_ratio(replicas, before)

        # The same typing on one replica alone: the reuse to keep.
        client, _ = await start_client({**options, "serverUrl": alone.url}, workspace=tmp_path)
        typist_alone = Typist(client, tmp_path)
        for name in names:
            await typist_alone.type_line(name, 0)
        before = [await _prompt_tokens(alone.url)]
        await _replay(typist_alone, names, [alone.url])
        alone_ratio = await _reuse_ratio([alone.url], before)

        # (a) each document stuck to its replica
        assert served == {name: {url} for name, url in zip(names, replicas, strict=True)}
        # (b) and kept its prefix reuse, as on one replica
        assert ratio >= alone_ratio - 0.05, (ratio, alone_ratio)

        # (c) its replica dies: the document's completions go on from the other one
        dead, survivor = first, second
        dead.process.kill()
        dead.process.wait()
        killed = time.monotonic()
        answered_by_survivor = None
        for line in range(TYPED_LINES + 1, TYPED_LINES + 9):
            before_count = await generations_asked(survivor.url)
            seconds = await typist.type_line(names[0], line)
            assert seconds < DEADLINE_MS / 1000 + 1  # answered or given up, never hung
            await asyncio.sleep(COUNTED_WITHIN_S)
            if await generations_asked(survivor.url) > before_count:
                answered_by_survivor = time.monotonic() - killed
                break
        assert answered_by_survivor is not None, "no completion reached the surviving replica"
        assert answered_by_survivor < 3 * HEALTH_INTERVAL_S + DEADLINE_MS / 1000

"""Host fixtures beyond the shared one: a host that turns everyone away."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Host, start_host, stop_host


@pytest.fixture(scope="session")
def tiny_queue_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """A host that accepts one request and no waiters, to see 429 without a crowd."""
    running = start_host(["--max-queue", "0"], tmp_path_factory.mktemp("tiny"))
    try:
        yield running
    finally:
        stop_host(running)


@pytest.fixture
def client(host: Host) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=host.url, timeout=30.0) as http:
        yield http


@pytest.fixture(scope="session")
def uncached_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """A host that recomputes every prompt: what a cold answer is."""
    running = start_host(["--no-prefix-cache"], tmp_path_factory.mktemp("uncached"))
    try:
        yield running
    finally:
        stop_host(running)


@pytest.fixture
def uncached_client(uncached_host: Host) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=uncached_host.url, timeout=30.0) as http:
        yield http

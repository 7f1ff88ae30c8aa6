"""A gone client frees the engine at once; a full queue answers 429.

"At once" is measured against the request itself: each host first runs the very request the
tests then abandon, to its end, and the engine must be free again in a fraction of that time.
The request samples at a huge temperature, which flattens the model's distribution over its
vocabulary of 262k tokens, so an end-of-generation token is practically never drawn and the
answer runs to `max_new_tokens`; the measurement checks that it did. So a model that stops by
itself cannot make these tests pass.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.conftest import Host
from tests.host.host_helpers import FIB_PREFIX, generate

RUNAWAY: dict[str, Any] = {"max_new_tokens": 256, "temperature": 100.0, "seed": 7}
"""Seeded, so every run is the same request and the same answer."""

FREED_WITHIN = 0.25
"""The engine must be free again within this share of the request's uncancelled time."""


def _uncancelled_seconds(url: str) -> float:
    """How long the runaway request takes when its client waits for it, checking that it
    really ran to its last allowed token."""
    with httpx.Client(base_url=url, timeout=300.0) as http:
        started = time.monotonic()
        details = generate(http, FIB_PREFIX, **RUNAWAY)["details"]
        elapsed = time.monotonic() - started
    assert details["finish_reason"] == "length", details
    assert details["generated_tokens"] == RUNAWAY["max_new_tokens"]
    return elapsed


@pytest.fixture(scope="module")
def uncancelled_s(host: Host) -> float:
    return _uncancelled_seconds(host.url)


@pytest.fixture(scope="module")
def tiny_uncancelled_s(tiny_queue_host: Host) -> float:
    return _uncancelled_seconds(tiny_queue_host.url)


def _runaway_body() -> dict[str, Any]:
    return {"inputs": FIB_PREFIX, "parameters": RUNAWAY}


def _next_request_is_prompt(client: httpx.Client, within_s: float) -> None:
    started = time.monotonic()
    response = client.post(
        "/generate", json={"inputs": FIB_PREFIX, "parameters": {"max_new_tokens": 2}}
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < within_s, f"the engine was busy for {elapsed:.2f} s after the client left"


def test_disconnect_mid_stream_frees_the_engine(
    host: Host, client: httpx.Client, uncancelled_s: float
) -> None:
    with (
        httpx.Client(base_url=host.url, timeout=30.0) as doomed,
        doomed.stream("POST", "/generate_stream", json=_runaway_body()) as response,
    ):
        lines = response.iter_lines()
        while not next(lines).startswith("data:"):
            pass
    _next_request_is_prompt(client, within_s=uncancelled_s * FREED_WITHIN)


def test_disconnect_during_generate_frees_the_engine(
    host: Host, client: httpx.Client, uncancelled_s: float
) -> None:
    patience_s = uncancelled_s / 8  # hangs up early in the generation
    with httpx.Client(base_url=host.url, timeout=patience_s) as impatient:
        try:
            impatient.post("/generate", json=_runaway_body())
        except httpx.TimeoutException:
            pass
        else:
            raise AssertionError(f"the whole answer came back within {patience_s:.2f} s")
    _next_request_is_prompt(client, within_s=uncancelled_s * FREED_WITHIN)


def test_full_queue_answers_429(tiny_queue_host: Host, tiny_uncancelled_s: float) -> None:
    with httpx.Client(base_url=tiny_queue_host.url, timeout=30.0) as http:
        with http.stream("POST", "/generate_stream", json=_runaway_body()) as response:
            lines = response.iter_lines()
            while not next(lines).startswith("data:"):
                pass
            refused = http.post("/generate", json={"inputs": "x", "parameters": {}})
            assert refused.status_code == 429
            assert refused.json()["error_type"] == "overloaded"
        # The host learns of the hang-up a moment later; from then on it accepts again (a
        # request that arrives while the abandoned one finishes its token waits for it).
        left = time.monotonic()
        allowed_s = tiny_uncancelled_s * FREED_WITHIN
        body = {"inputs": "x", "parameters": {"max_new_tokens": 1}}
        while http.post("/generate", json=body).status_code != 200:
            assert time.monotonic() - left < allowed_s, "still refused after the client left"
            time.sleep(0.05)
        busy_s = time.monotonic() - left
        assert busy_s < allowed_s, f"the engine was busy for {busy_s:.2f} s after the client left"

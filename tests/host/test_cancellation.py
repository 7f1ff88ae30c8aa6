"""A gone client frees the engine at once; a full queue answers 429."""

from __future__ import annotations

import time

import httpx

from tests.conftest import Host
from tests.host.host_helpers import FIB_PREFIX

LONG = {"max_new_tokens": 2000}
"""Far longer than any test may wait: only cancellation can end it in time."""


def _next_request_is_prompt(client: httpx.Client) -> None:
    started = time.monotonic()
    response = client.post(
        "/generate", json={"inputs": FIB_PREFIX, "parameters": {"max_new_tokens": 2}}
    )
    assert response.status_code == 200
    assert time.monotonic() - started < 5.0


def test_disconnect_mid_stream_frees_the_engine(host: Host, client: httpx.Client) -> None:
    with httpx.Client(base_url=host.url, timeout=30.0) as doomed:
        body = {"inputs": FIB_PREFIX, "parameters": LONG}
        with doomed.stream("POST", "/generate_stream", json=body) as response:
            lines = response.iter_lines()
            while not next(lines).startswith("data:"):
                pass
    _next_request_is_prompt(client)


def test_disconnect_during_generate_frees_the_engine(host: Host, client: httpx.Client) -> None:
    with httpx.Client(base_url=host.url, timeout=0.5) as impatient:
        try:
            impatient.post("/generate", json={"inputs": FIB_PREFIX, "parameters": LONG})
        except httpx.TimeoutException:
            pass
        else:
            raise AssertionError("a 2000-token answer came back in half a second")
    _next_request_is_prompt(client)


def test_full_queue_answers_429(tiny_queue_host: Host) -> None:
    with httpx.Client(base_url=tiny_queue_host.url, timeout=30.0) as http:
        body = {"inputs": FIB_PREFIX, "parameters": LONG}
        with http.stream("POST", "/generate_stream", json=body) as response:
            lines = response.iter_lines()
            while not next(lines).startswith("data:"):
                pass
            refused = http.post("/generate", json={"inputs": "x", "parameters": {}})
            assert refused.status_code == 429
            assert refused.json()["error_type"] == "overloaded"
        # The host learns of the hang-up a moment later; from then on it accepts again.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            body = {"inputs": "x", "parameters": {"max_new_tokens": 1}}
            if http.post("/generate", json=body).status_code == 200:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the engine stayed busy after the client left")

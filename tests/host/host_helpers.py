"""Small request helpers shared by the host tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

FIB_PREFIX = "def fibonacci(n):\n"


def generate(client: httpx.Client, inputs: str, **parameters: Any) -> dict[str, Any]:
    """POST /generate with details on; the decoded answer (asserting a 200)."""
    response = client.post(
        "/generate", json={"inputs": inputs, "parameters": {"details": True, **parameters}}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def stream_events(client: httpx.Client, inputs: str, **parameters: Any) -> list[dict[str, Any]]:
    """POST /generate_stream; every `data:` event, decoded."""
    events = []
    body = {"inputs": inputs, "parameters": parameters}
    with client.stream("POST", "/generate_stream", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line.removeprefix("data:")))
    return events

"""Tokenizing beside a running generation: `/tokenize` answers while it runs, not after it,
and answers the same; each engine's tokenizer is safe on another thread meanwhile.

The language server counts tokens on the completion path, often while an earlier completion is
still being generated; queued behind that generation, a count would wait for the whole answer.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from quill_host.engines import EngineOptions, create_engine
from quill_host.engines.base import GeneratedToken
from quill_host.models import resolve_model
from quill_host.protocol import GenerateParameters
from tests.conftest import Host
from tests.host.host_helpers import FIB_PREFIX

LONG_ANSWER: dict[str, Any] = {"max_new_tokens": 256, "temperature": 100.0, "seed": 7}
"""Sampled so flat that the end-of-generation token is practically never drawn: the answer
runs to its last allowed token (checked below), long enough to send requests beside it."""

TEXT = "def é€😀(x):\n    return x  # naïve <eos>\n" * 40
"""~1.6 KB with characters outside ASCII, and a control token's name that is only text here."""
COUNTS = 10


class _Generation(threading.Thread):
    """Streams one long answer; records when its first and last events came."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.first_token = threading.Event()
        self.ended_at: float | None = None
        self.last_event: dict[str, Any] = {}

    def run(self) -> None:
        body = {"inputs": FIB_PREFIX, "parameters": LONG_ANSWER}
        with (
            httpx.Client(base_url=self.url, timeout=300.0) as http,
            http.stream("POST", "/generate_stream", json=body) as response,
        ):
            for line in response.iter_lines():
                if line.startswith("data:"):
                    self.last_event = json.loads(line.removeprefix("data:"))
                    self.first_token.set()
        self.ended_at = time.monotonic()
        self.first_token.set()  # in case the stream failed before any token


def test_tokenize_answers_beside_a_running_generation(host: Host, client: httpx.Client) -> None:
    expected = client.post("/tokenize", json={"inputs": TEXT}).json()
    assert "".join(TEXT[span["start"] : span["stop"]] for span in expected) == TEXT

    generation = _Generation(host.url)
    generation.start()
    assert generation.first_token.wait(timeout=60)
    answered_at = []
    for _ in range(COUNTS):
        response = client.post("/tokenize", json={"inputs": TEXT})
        answered_at.append(time.monotonic())
        assert response.status_code == 200
        assert response.json() == expected
    generation.join(timeout=120)

    assert generation.ended_at is not None
    details = generation.last_event.get("details") or {}
    assert details.get("finish_reason") == "length", generation.last_event
    assert details["generated_tokens"] == LONG_ANSWER["max_new_tokens"]
    assert max(answered_at) < generation.ended_at, "a count waited for the generation to end"


def test_transformers_tokenizing_beside_a_generation_changes_neither() -> None:
    """The transformers engine's tokenizer, called from another thread while the engine
    generates: the same spans as when idle, and the same tokens as a generation left alone."""
    pytest.importorskip("transformers")
    # Without prefix reuse both generations compute exactly alike, and greedy decoding turns
    # any difference in what they compute into different tokens.
    options = EngineOptions(model=resolve_model("default"), prefix_cache=False)
    engine = create_engine("transformers", options)
    params = GenerateParameters(max_new_tokens=8)
    alone = [token.id for token in engine.generate(FIB_PREFIX, params, lambda: False)]
    expected = engine.token_spans(TEXT)

    tokens: list[GeneratedToken] = []
    worker = threading.Thread(
        target=lambda: tokens.extend(engine.generate(FIB_PREFIX, params, lambda: False)),
        daemon=True,
    )
    worker.start()
    beside = 0
    while worker.is_alive():
        spans = engine.token_spans(TEXT)
        beside += worker.is_alive()
        assert spans == expected
        time.sleep(0.005)  # leave the generation room: both need the GIL between native calls
    worker.join()

    assert beside > 0
    assert [token.id for token in tokens] == alone

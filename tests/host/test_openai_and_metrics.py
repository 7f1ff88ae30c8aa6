"""OpenAI ``/v1/completions`` and Prometheus ``/metrics`` on the real host."""

from __future__ import annotations

import json

import httpx

from tests.host.host_helpers import FIB_PREFIX, generate


def test_openai_completion_greedy_matches_tgi(client: httpx.Client) -> None:
    body = {"prompt": FIB_PREFIX, "max_tokens": 8, "temperature": 0}
    answer = client.post("/v1/completions", json=body).json()
    [choice] = answer["choices"]
    assert answer["object"] == "text_completion"
    assert choice["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 8
    tgi = generate(client, FIB_PREFIX, max_new_tokens=8)
    assert choice["text"] == tgi["generated_text"]
    assert answer["usage"]["prompt_tokens_details"]["cached_tokens"] >= 0


def test_openai_leaves_the_stop_sequence_out(client: httpx.Client) -> None:
    body = {"prompt": FIB_PREFIX, "max_tokens": 40, "temperature": 0, "stop": ["\n"]}
    answer = client.post("/v1/completions", json=body).json()
    [choice] = answer["choices"]
    assert choice["finish_reason"] == "stop"
    assert "\n" not in choice["text"]
    tgi = generate(client, FIB_PREFIX, max_new_tokens=40, stop=["\n"])
    assert tgi["generated_text"] == choice["text"] + "\n"


def test_openai_stream_adds_up_and_ends_with_done(client: httpx.Client) -> None:
    body = {"prompt": FIB_PREFIX, "max_tokens": 30, "temperature": 0, "stop": ["\n"]}
    texts, finishes, last = [], [], ""
    with client.stream("POST", "/v1/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            last = line.removeprefix("data:").strip()
            if last != "[DONE]":
                [choice] = json.loads(last)["choices"]
                texts.append(choice["text"])
                finishes.append(choice["finish_reason"])
    assert last == "[DONE]"
    assert finishes[-1] == "stop"
    whole = client.post("/v1/completions", json=body).json()["choices"][0]["text"]
    assert "".join(texts) == whole


def test_openai_errors_have_openai_shape(client: httpx.Client) -> None:
    response = client.post("/v1/completions", json={"prompt": "x", "max_tokens": 0})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    response = client.post("/v1/completions", content=b"{not json")
    assert response.status_code == 400


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_reused_and_computed_prompt_tokens(client: httpx.Client) -> None:
    before = client.get("/metrics").text
    first = generate(client, FIB_PREFIX + "    # metrics\n", max_new_tokens=2)
    second = generate(client, FIB_PREFIX + "    # metrics\n    ", max_new_tokens=2)
    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    reused = 'quill_host_prompt_tokens_total{source="reused"}'
    computed = 'quill_host_prompt_tokens_total{source="computed"}'
    grown_reused = _metric(after.text, reused) - _metric(before, reused)
    grown_computed = _metric(after.text, computed) - _metric(before, computed)
    expected_reused = (
        first["details"]["reused_prompt_tokens"] + second["details"]["reused_prompt_tokens"]
    )
    prompt_total = first["details"]["input_length"] + second["details"]["input_length"]
    assert grown_reused == expected_reused
    assert grown_reused + grown_computed == prompt_total
    assert 'quill_host_requests_total{route="/generate",status="200"}' in after.text

"""The TGI surface that is not generation: /info, /health, /tokenize and error bodies."""

from __future__ import annotations

import httpx
import pytest

from quill_host.engines.llamacpp import gpu_backend
from tests.conftest import Host


def test_info_reports_tgi_fields(client: httpx.Client, host: Host) -> None:
    info = client.get("/info").json()
    assert info["model_id"] == host.model_id
    assert info["router"] == "quill-host"
    assert info["max_best_of"] == 1
    assert info["max_total_tokens"] == 8192
    assert 0 < info["max_input_tokens"] < info["max_total_tokens"]
    assert info["max_concurrent_requests"] >= 1
    assert info["max_stop_sequences"] >= 1
    assert info["model_dtype"] == "Q4_K_M"
    assert info["model_device_type"] == gpu_backend()  # "cpu" with PyPI's llama.cpp wheel
    assert info["fill_in_middle"] is None  # Gemma 3 has no FIM tokens
    assert isinstance(info["version"], str)


def test_health_is_ok_once_serving(client: httpx.Client) -> None:
    assert client.get("/health").status_code == 200


def test_tokenize_gives_ids_and_offsets(client: httpx.Client) -> None:
    text = "def é€😀(x):"
    spans = client.post("/tokenize", json={"inputs": text}).json()
    assert spans[0]["start"] == spans[0]["stop"] == 0  # BOS covers nothing
    assert all(isinstance(span["id"], int) for span in spans)
    assert "".join(text[span["start"] : span["stop"]] for span in spans) == text
    assert [span["stop"] for span in spans] == sorted(span["stop"] for span in spans)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"inputs": "x", "parameters": ', "JSON"),
        (b'{"parameters": {}}', "inputs"),
        (b'{"inputs": "x", "parameters": {"max_new_tokens": -1}}', "max_new_tokens"),
        (b'{"inputs": "x", "parameters": {"temperature": 0}}', "temperature"),
        (b'{"inputs": "x", "parameters": {"top_p": 1.5}}', "top_p"),
        (b'{"inputs": "x", "parameters": {"stop": ["a", "b", "c", "d", "e"]}}', "stop"),
        (b"[1, 2]", "GenerateRequest"),
    ],
)
@pytest.mark.parametrize("route", ["/generate", "/generate_stream", "/"])
def test_bad_requests_are_422_with_tgi_body(
    client: httpx.Client, route: str, body: bytes, needle: str
) -> None:
    response = client.post(route, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    answer = response.json()
    assert answer["error_type"] == "validation"
    assert needle.lower() in answer["error"].lower() or route == "/" or needle == "GenerateRequest"


def test_unknown_parameters_are_ignored_like_tgi(client: httpx.Client) -> None:
    body = {"inputs": "x = ", "parameters": {"max_new_tokens": 1, "watermark": True, "new": 1}}
    assert client.post("/generate", json=body).status_code == 200


def test_too_long_input_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/generate", json={"inputs": "word " * 9000, "parameters": {"max_new_tokens": 2}}
    )
    assert response.status_code == 422
    assert response.json()["error_type"] == "validation"
    assert "max_new_tokens" in response.json()["error"]


def test_truncate_keeps_the_last_tokens(client: httpx.Client) -> None:
    response = client.post(
        "/generate",
        json={
            "inputs": "word " * 9000,
            "parameters": {"max_new_tokens": 2, "truncate": 64, "details": True},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["details"]["input_length"] == 64

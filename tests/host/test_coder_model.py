"""The code model from its PyPI parts, for real: assembled, verified, served under its own id.

`quill-lsp[coder]` comes with the test extra. Hashing 1.1 GB and loading it take seconds,
hence the `model` marker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from quill_host.assembly import sidecar_path
from quill_host.catalog import QWEN25_CODER_1_5B
from quill_host.models import resolve_model
from tests.conftest import Host, start_host, stop_host
from tests.host.host_helpers import FIB_PREFIX, generate

pytestmark = pytest.mark.model


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(4 << 20):
            digest.update(block)
    return digest.hexdigest()


def test_the_named_coder_model_is_the_published_file() -> None:
    resolved = resolve_model("qwen2.5-coder-1.5b")

    assert resolved.model_id == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert resolved.path.name == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert resolved.path.stat().st_size == 1_117_320_768
    assert sha256_of(resolved.path) == QWEN25_CODER_1_5B.sha256
    assert sidecar_path(resolved.path).is_file()


@pytest.fixture(scope="module")
def coder_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    running = start_host(["--model", "qwen2.5-coder-1.5b"], tmp_path_factory.mktemp("coder"))
    try:
        yield running
    finally:
        stop_host(running)


def test_the_host_serves_it_under_its_id(coder_host: Host) -> None:
    with httpx.Client(base_url=coder_host.url, timeout=60.0) as client:
        info = client.get("/info").json()
        models = client.get("/v1/models").json()
        answer = generate(client, FIB_PREFIX, max_new_tokens=16)

    assert coder_host.model_id == QWEN25_CODER_1_5B.model_id
    assert info["model_id"] == QWEN25_CODER_1_5B.model_id
    assert [model["id"] for model in models["data"]] == [QWEN25_CODER_1_5B.model_id]
    assert answer["generated_text"].strip()


def test_its_fim_markers_are_reported_and_read_as_single_tokens(coder_host: Host) -> None:
    """The markers Quill writes are the model's control tokens, not a dozen text tokens;
    a control token's text anywhere else (``<|endoftext|>`` in a file) stays text."""
    with httpx.Client(base_url=coder_host.url, timeout=60.0) as client:
        info = client.get("/info").json()
        prompt = "<|fim_prefix|>def f(x):\n    <|fim_suffix|>\n<|fim_middle|>"
        tokens = client.post("/tokenize", json={"inputs": prompt}).json()
        text = client.post("/tokenize", json={"inputs": "x = '<|endoftext|>'"}).json()

    assert info["fill_in_middle"] == {
        "prefix": "<|fim_prefix|>",
        "suffix": "<|fim_suffix|>",
        "middle": "<|fim_middle|>",
        "repository": "<|repo_name|>",
        "file_separator": "<|file_sep|>",
    }
    markers = [token for token in tokens if token["text"].startswith("<|fim_")]
    assert [token["text"] for token in markers] == [
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
    ]
    assert [(token["start"], token["stop"]) for token in markers[:1]] == [(0, 14)]
    assert "".join(token["text"] for token in tokens) == prompt  # spans cover the text
    assert all(token["text"] != "<|endoftext|>" for token in text)

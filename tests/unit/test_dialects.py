"""``serverUrl`` alone finds the dialect, and each dialect asks what its documented API
wants: against the stand-in, which speaks each of them (real servers: test_third_party_servers).
"""

from __future__ import annotations

import json
from contextlib import aclosing

import pytest

from quill.backends.base import GenerationOptions
from quill.backends.detect import connect
from quill.backends.errors import FailureKind, ModelServerError
from tests.fake_tgi import FakeTgi, serve_fake_tgi


@pytest.mark.parametrize(
    ("dialect", "found", "model", "context"),
    [
        ("tgi", "tgi", "fake/model", None),
        ("openai", "openai (vLLM)", "fake/model", 4096),
        ("ollama", "ollama", "fake/model:latest", 4096),
    ],
)
async def test_the_dialect_and_model_are_found_from_the_url(
    dialect: str, found: str, model: str, context: int | None
) -> None:
    with serve_fake_tgi(FakeTgi("ok", dialect=dialect)) as url:
        server = connect(url)
        try:
            info = await server.info()
        finally:
            await server.aclose()
    assert info.dialect == found
    assert info.model_id == model
    assert info.max_total_tokens == context


async def test_ollama_gets_the_raw_prompt_and_stays_loaded() -> None:
    """Ollama's template would wrap a FIM prompt: ``raw`` keeps it as Quill wrote it."""
    fake = FakeTgi("ok", dialect="ollama")
    with serve_fake_tgi(fake) as url:
        server = connect(url, backend="ollama")
        try:
            options = GenerationOptions(max_new_tokens=8, stop=("\n",), seed=1)
            async with aclosing(server.generate_stream("<PRE> x <SUF>", options)) as pieces:
                text = "".join([piece async for piece in pieces])
        finally:
            await server.aclose()
    assert text == "xxx"
    [body] = [json.loads(r.body) for r in fake.received if r.path == "/api/generate"]
    assert body["raw"] is True
    assert body["prompt"] == "<PRE> x <SUF>"
    assert body["keep_alive"] == "30m"
    assert body["options"] == {"num_predict": 8, "temperature": 0.0, "stop": ["\n"], "seed": 1}


async def test_a_model_the_server_does_not_have_is_named_in_the_error() -> None:
    with serve_fake_tgi(FakeTgi("ok", dialect="openai")) as url:
        server = connect(url, model="bigcode/starcoder2-15b")
        try:
            with pytest.raises(ModelServerError) as raised:
                await server.info()
        finally:
            await server.aclose()
    assert raised.value.kind is FailureKind.VALIDATION
    assert "no model 'bigcode/starcoder2-15b'; it has fake/model" in raised.value.detail

"""``serverUrl`` alone finds the dialect, and each dialect asks what its documented API
wants: against the stand-in, which speaks each of them (real servers: test_third_party_servers).
"""

from __future__ import annotations

import json
from contextlib import aclosing

import pytest

from quill.backends.base import FillInMiddle, GenerationOptions
from quill.backends.detect import connect
from quill.backends.errors import FailureKind, ModelServerError
from tests.fake_tgi import FakeTgi, serve_fake_tgi


@pytest.mark.parametrize(
    ("dialect", "found", "model", "context"),
    [
        ("tgi", "tgi", "fake/model", None),
        ("openai", "openai (vLLM)", "fake/model", 4096),
        ("ollama", "ollama", "fake/model:latest", 4096),
        ("llama.cpp", "openai (llama.cpp)", "fake/model", 4096),
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


async def test_llama_cpp_lays_out_fill_in_the_middle_for_a_model_with_fim_tokens() -> None:
    """``/infill`` gets the text around the cursor and other files as ``input_extra``,
    with the prompt cache on; its own event shape is read."""
    fake = FakeTgi("ok", dialect="llama.cpp")
    with serve_fake_tgi(fake) as url:
        server = connect(url)
        try:
            assert (await server.info()).fills_in_middle
            request = FillInMiddle("def f(x):\n    ", "\n", (("util.py", "def g():\n"),))
            options = GenerationOptions(max_new_tokens=8, stop=("\n\n",), seed=1)
            async with aclosing(server.fill_in_middle(request, options)) as pieces:
                text = "".join([piece async for piece in pieces])
        finally:
            await server.aclose()
    assert text == "xxx"
    [body] = fake.requests
    assert body["input_prefix"] == "def f(x):\n    "
    assert body["input_suffix"] == "\n"
    assert body["input_extra"] == [{"filename": "util.py", "text": "def g():\n"}]
    assert body["n_predict"] == 8
    assert body["cache_prompt"] is True
    assert body["stop"] == ["\n\n"]
    assert body["stream"] is True


async def test_a_model_without_fim_tokens_gets_quills_prompts_and_a_clear_refusal() -> None:
    fake = FakeTgi("ok", dialect="llama.cpp", fim_tokens=False)
    with serve_fake_tgi(fake) as url:
        server = connect(url)
        try:
            assert not (await server.info()).fills_in_middle
            pieces = server.fill_in_middle(FillInMiddle("x", ""), GenerationOptions(4))
            with pytest.raises(ModelServerError) as raised:
                await anext(pieces)
        finally:
            await server.aclose()
    assert raised.value.kind is FailureKind.VALIDATION
    assert "fill-in-the-middle" in raised.value.detail
    assert not fake.requests  # refused here, not by the server

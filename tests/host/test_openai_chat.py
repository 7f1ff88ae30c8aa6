"""OpenAI ``/v1/chat/completions`` and ``/v1/models`` on the real host.

The packaged Gemma 3 270M is a base model: its GGUF has no ``tokenizer.chat_template``, so the
packaged host must refuse chat with a 422. For the chat itself the tests serve a copy of the
same GGUF with Gemma 3's own chat template (the instruct model's, verbatim) added to its
metadata: the same weights, so nothing is downloaded, and a template with control tokens
(``<start_of_turn>``) and a ``raise_exception`` of its own. The tests check the wire shapes,
counts and plumbing, never what the 270M base model writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llama_cpp import Llama

from quill_host.chat_template import ChatRenderer
from quill_host.engines.base import ChatTemplate
from quill_host.errors import ValidationFailed
from quill_host.models import resolve_model
from tests.chat_model import GEMMA3_CHAT_TEMPLATE, add_chat_template
from tests.conftest import Host, start_host, stop_host
from tests.host.host_helpers import generate

HELLO = [{"role": "user", "content": "Write a Python function that adds two numbers."}]
HELLO_PROMPT = (
    "<bos><start_of_turn>user\nWrite a Python function that adds two numbers.<end_of_turn>\n"
    "<start_of_turn>model\n"
)
RUNAWAY: dict[str, Any] = {"max_tokens": 256, "temperature": 100.0, "seed": 7}
"""As in test_cancellation: a flattened distribution never draws an end token by chance."""
FREED_WITHIN = 0.25


@pytest.fixture(scope="module")
def chat_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """A host serving the packaged weights with Gemma 3's chat template added."""
    folder = tmp_path_factory.mktemp("chat")
    model = folder / "gemma-3-270m-with-chat-template.gguf"
    add_chat_template(resolve_model("default").path, model, GEMMA3_CHAT_TEMPLATE)
    running = start_host(["--model", str(model)], folder)
    try:
        yield running
    finally:
        stop_host(running)


@pytest.fixture
def chat(chat_host: Host) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chat_host.url, timeout=60.0) as http:
        yield http


def _complete(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/chat/completions", json={"messages": HELLO, **body})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _stream(client: httpx.Client, **body: Any) -> tuple[list[dict[str, Any]], str]:
    """Every chunk of a streamed answer, and the last ``data:`` line."""
    chunks, last = [], ""
    payload = {"messages": HELLO, **body, "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=payload) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data:"):
                last = line.removeprefix("data:").strip()
                if last != "[DONE]":
                    chunks.append(json.loads(last))
    return chunks, last


# The renderer alone: no model.


def test_renders_gemma_turns_with_bos_and_generation_prompt() -> None:
    renderer = ChatRenderer(ChatTemplate(GEMMA3_CHAT_TEMPLATE, "<bos>", "<eos>"))
    assert renderer.render(HELLO) == HELLO_PROMPT
    conversation = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Bye"},
    ]
    assert renderer.render(conversation) == (
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello.<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
    )


def test_template_refusals_and_failures_are_validation_errors() -> None:
    renderer = ChatRenderer(ChatTemplate(GEMMA3_CHAT_TEMPLATE, "<bos>", "<eos>"))
    with pytest.raises(ValidationFailed, match="must alternate"):
        renderer.render([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    broken = ChatRenderer(ChatTemplate("{{ messages[0]['content'] + 1 }}", "", ""))
    with pytest.raises(ValidationFailed, match="TypeError"):
        broken.render(HELLO)


def test_renderer_speaks_the_transformers_dialect() -> None:
    source = (
        "{% for m in messages %}{% generation %}{{ m | tojson }}{% endgeneration %}"
        "{% if loop.index == 1 %}{% break %}{% endif %}{% endfor %}"
    )
    renderer = ChatRenderer(ChatTemplate(source, "", ""))
    messages = [{"role": "user", "content": "é<"}, {"role": "user", "content": "x"}]
    assert renderer.render(messages) == '{"role": "user", "content": "é<"}'


# The host with the packaged model (no chat template).


def test_packaged_model_has_no_chat_template_so_chat_is_422(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json={"messages": HELLO, "max_tokens": 4})
    assert response.status_code == 422
    answer = response.json()
    assert answer["error_type"] == "validation"
    assert "has no chat template" in answer["error"]


def test_models_lists_the_served_model_as_info_names_it(client: httpx.Client) -> None:
    info = client.get("/info").json()
    models = client.get("/v1/models").json()
    assert models["object"] == "list"
    [model] = models["data"]
    assert model["id"] == info["model_id"]
    assert model["object"] == "model"
    assert model["owned_by"] == "quill"
    assert model["max_model_len"] == info["max_total_tokens"]


# The host with a chat template.


def test_chat_answer_has_openai_shape_and_counts(chat: httpx.Client, chat_host: Host) -> None:
    answer = _complete(chat, max_tokens=12, temperature=0)
    assert answer["object"] == "chat.completion"
    assert answer["id"].startswith("chatcmpl-")
    assert answer["model"] == chat_host.model_id
    [choice] = answer["choices"]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert "<end_of_turn>" not in choice["message"]["content"]
    usage = answer["usage"]
    assert 1 <= usage["completion_tokens"] <= 12
    assert (choice["finish_reason"] == "length") == (usage["completion_tokens"] == 12)
    assert choice["finish_reason"] in {"length", "stop"}
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # The turn markers went in as control tokens, with one BOS (the template's).
    vocab = Llama(str(resolve_model("default").path), vocab_only=True, verbose=False)
    expected = vocab.tokenize(HELLO_PROMPT.encode(), add_bos=False, special=True)
    assert usage["prompt_tokens"] == len(expected)
    as_text = chat.post("/tokenize", json={"inputs": HELLO_PROMPT}).json()
    assert len(as_text) > len(expected)


def test_a_repeated_conversation_reuses_the_kv_cache(chat: httpx.Client) -> None:
    _complete(chat, max_tokens=2, temperature=0)
    again = _complete(chat, max_tokens=2, temperature=0)["usage"]
    assert again["prompt_tokens_details"]["cached_tokens"] == again["prompt_tokens"] - 1


@pytest.mark.parametrize("limit", ["max_tokens", "max_completion_tokens"])
def test_token_limit_is_honoured(chat: httpx.Client, limit: str) -> None:
    body = {"messages": HELLO, "temperature": 0.8, "seed": 3, limit: 3}
    answer = chat.post("/v1/chat/completions", json=body).json()
    assert answer["usage"]["completion_tokens"] <= 3
    if answer["choices"][0]["finish_reason"] == "length":
        assert answer["usage"]["completion_tokens"] == 3


def test_stop_sequence_ends_the_answer_and_is_left_out(chat: httpx.Client) -> None:
    whole = _complete(chat, max_tokens=24, temperature=0)["choices"][0]["message"]["content"]
    assert len(whole.strip()) >= 6, f"too little text to pick a stop sequence from: {whole!r}"
    stop = whole.strip()[3:6]
    cut = _complete(chat, max_tokens=24, temperature=0, stop=stop)
    [choice] = cut["choices"]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == whole[: whole.index(stop)]
    as_list = _complete(chat, max_tokens=24, temperature=0, stop=[stop, "\u2603"])
    assert as_list["choices"][0]["message"]["content"] == whole[: whole.index(stop)]


def test_stream_adds_up_to_the_answer_and_ends_with_done(chat: httpx.Client) -> None:
    body = {"max_tokens": 16, "temperature": 0}
    whole = _complete(chat, **body)
    chunks, last = _stream(chat, **body, stream_options={"include_usage": True})
    assert last == "[DONE]"
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    *choices, usage_chunk = chunks
    finishes = [chunk["choices"][0]["finish_reason"] for chunk in choices]
    assert finishes[:-1] == [None] * (len(finishes) - 1)
    assert finishes[-1] == whole["choices"][0]["finish_reason"]
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in choices)
    assert text == whole["choices"][0]["message"]["content"]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == whole["usage"]["completion_tokens"]
    assert usage_chunk["usage"]["prompt_tokens"] == whole["usage"]["prompt_tokens"]


def test_stream_honours_stop_and_sends_usage_only_when_asked(chat: httpx.Client) -> None:
    whole = _complete(chat, max_tokens=24, temperature=0)["choices"][0]["message"]["content"]
    stop = whole.strip()[3:6]
    chunks, last = _stream(chat, max_tokens=24, temperature=0, stop=stop)
    assert last == "[DONE]"
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert text == whole[: whole.index(stop)]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": "hello"}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "role"),
        ({"messages": [{"content": "x"}]}, "role"),
        ({"messages": [{"role": "user", "content": 5}]}, "content"),
        ({"messages": [{"role": "user"}]}, "needs content"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "image_url"),
        ({"messages": HELLO, "max_tokens": 0}, "max_tokens"),
        ({"messages": HELLO, "temperature": -1}, "temperature"),
        ({"messages": HELLO, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"messages": HELLO, "stop": ""}, "stop"),
        ({"messages": HELLO, "n": 2}, "n"),
        ({"messages": HELLO, "tools": [{"type": "function"}]}, "tool"),
        ({"messages": HELLO * 2}, "must alternate"),
        ({"messages": HELLO, "max_tokens": 100_000}, "max_new_tokens"),
    ],
)
def test_bad_chat_requests_are_422_with_a_clear_error(
    chat: httpx.Client, body: dict[str, Any], needle: str
) -> None:
    response = chat.post("/v1/chat/completions", json=body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["error_type"] == "validation"
    assert needle in answer["error"]


def test_text_parts_and_developer_role_are_accepted(chat: httpx.Client) -> None:
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Say hi."}]},
    ]
    body = {"messages": messages, "max_tokens": 2, "temperature": 0}
    response = chat.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text


def _uncancelled_seconds(client: httpx.Client) -> float:
    started = time.monotonic()
    answer = _complete(client, **RUNAWAY)
    elapsed = time.monotonic() - started
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == RUNAWAY["max_tokens"]
    return elapsed


def _metric(client: httpx.Client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_disconnect_mid_stream_stops_the_generation(chat: httpx.Client, chat_host: Host) -> None:
    uncancelled_s = _uncancelled_seconds(chat)
    counted = 'quill_host_requests_total{route="/v1/chat/completions",status="200"}'
    requests_before = _metric(chat, counted)
    tokens_before = _metric(chat, "quill_host_generated_tokens_total")
    payload = {"messages": HELLO, **RUNAWAY, "stream": True}
    with (
        httpx.Client(base_url=chat_host.url, timeout=30.0) as doomed,
        doomed.stream("POST", "/v1/chat/completions", json=payload) as response,
    ):
        lines = response.iter_lines()
        while not next(lines).startswith("data:"):
            pass  # the first chunk goes out once the first token is generated
    started = time.monotonic()
    answer = generate(chat, "x = ", max_new_tokens=2)
    busy_s = time.monotonic() - started
    assert answer["details"]["generated_tokens"] == 2
    assert busy_s < uncancelled_s * FREED_WITHIN, f"the engine was busy for {busy_s:.2f} s"
    # The stream was answered (200) and is counted once it has ended; an abandoned generation
    # adds no generated tokens (only the 2 of the request above).
    deadline = time.monotonic() + 1.0
    while _metric(chat, counted) == requests_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _metric(chat, counted) == requests_before + 1
    assert _metric(chat, "quill_host_generated_tokens_total") == tokens_before + 2

"""Generation through the real packaged model: greedy text, streaming, stops, cache reuse."""

from __future__ import annotations

import httpx

from tests.host.host_helpers import FIB_PREFIX, generate, stream_events

# A prompt long enough that reuse is visible, ending in an easy continuation.
MODULE = '"""Small numeric helpers."""\n\nimport math\n\n\n' + "".join(
    f"def scale_{i}(value: float) -> float:\n    return value * {i}\n\n\n" for i in range(12)
)


def test_generate_is_greedy_and_deterministic(client: httpx.Client) -> None:
    first = generate(client, FIB_PREFIX, max_new_tokens=12)
    second = generate(client, FIB_PREFIX, max_new_tokens=12)
    assert first["generated_text"].strip()
    assert first["generated_text"] == second["generated_text"]
    assert first["details"]["seed"] is None
    assert first["details"]["generated_tokens"] == len(first["details"]["tokens"])


def test_stream_events_add_up_to_generated_text(client: httpx.Client) -> None:
    events = stream_events(client, FIB_PREFIX, max_new_tokens=8)
    assert [event["index"] for event in events] == list(range(1, len(events) + 1))
    assert all(event["generated_text"] is None for event in events[:-1])
    assert all(event["details"] is None for event in events[:-1])
    last = events[-1]
    assert "".join(event["token"]["text"] for event in events) == last["generated_text"]
    assert last["details"]["finish_reason"] == "length"
    assert last["details"]["generated_tokens"] == 8
    assert set(last["token"]) == {"id", "text", "logprob", "special"}
    assert (
        generate(client, FIB_PREFIX, max_new_tokens=8)["generated_text"] == last["generated_text"]
    )


def test_max_new_tokens_is_respected(client: httpx.Client) -> None:
    answer = generate(client, FIB_PREFIX, max_new_tokens=3)
    assert answer["details"]["finish_reason"] == "length"
    assert answer["details"]["generated_tokens"] == 3


def test_stop_sequence_ends_generation_and_is_included(client: httpx.Client) -> None:
    answer = generate(client, FIB_PREFIX, max_new_tokens=30, stop=["\n"])
    assert answer["details"]["finish_reason"] == "stop_sequence"
    assert answer["generated_text"].endswith("\n")
    assert answer["generated_text"].count("\n") == 1
    events = stream_events(client, FIB_PREFIX, max_new_tokens=30, stop=["\n"])
    assert events[-1]["generated_text"] == answer["generated_text"]
    assert events[-1]["details"]["finish_reason"] == "stop_sequence"


def test_return_full_text_prepends_the_inputs(client: httpx.Client) -> None:
    answer = generate(client, FIB_PREFIX, max_new_tokens=2, return_full_text=True)
    assert answer["generated_text"].startswith(FIB_PREFIX)


def test_seeded_sampling_is_reproducible(client: httpx.Client) -> None:
    params = {"max_new_tokens": 6, "do_sample": True, "temperature": 0.9, "seed": 7}
    first = generate(client, FIB_PREFIX, **params)
    assert first["details"]["seed"] == 7
    assert generate(client, FIB_PREFIX, **params)["generated_text"] == first["generated_text"]


def test_shared_prefix_is_reused_and_gives_the_cold_answer(
    client: httpx.Client, uncached_client: httpx.Client
) -> None:
    edited = MODULE + "def scale_12(value: float) -> float:\n    return"
    generate(client, MODULE + "def scale_12(value: float) -> float:\n", max_new_tokens=2)
    warm = generate(client, edited, max_new_tokens=10)
    prompt_tokens = warm["details"]["input_length"]
    assert warm["details"]["reused_prompt_tokens"] > prompt_tokens - 10

    cold = generate(uncached_client, edited, max_new_tokens=10)
    assert cold["details"]["reused_prompt_tokens"] == 0
    assert cold["generated_text"] == warm["generated_text"]


def test_switching_files_restores_the_other_file_cache(
    client: httpx.Client, uncached_client: httpx.Client
) -> None:
    first_file = MODULE + "def first_helper(value: float) -> float:\n    return"
    other_file = "import os\n\n" + "\n".join(f"PATH_{n} = os.getcwd()" for n in range(60))
    answer = generate(client, first_file, max_new_tokens=8)
    generate(client, other_file, max_new_tokens=2)  # the first file's cache is parked
    again = generate(client, first_file, max_new_tokens=8)
    assert again["details"]["reused_prompt_tokens"] == again["details"]["input_length"] - 1
    assert again["generated_text"] == answer["generated_text"]
    cold = generate(uncached_client, first_file, max_new_tokens=8)
    assert cold["generated_text"] == again["generated_text"]


def test_top_n_tokens_are_the_likeliest_with_the_chosen_one_first(client: httpx.Client) -> None:
    """TGI's ``top_n_tokens``: at each step the likeliest tokens, likeliest first; under
    greedy decoding the chosen token is the first of them, with the same logprob."""
    answer = generate(client, FIB_PREFIX, max_new_tokens=4, top_n_tokens=3)
    tokens, steps = answer["details"]["tokens"], answer["details"]["top_tokens"]
    assert len(steps) == len(tokens) == 4
    for token, top in zip(tokens, steps, strict=True):
        assert len(top) == 3
        assert len({choice["id"] for choice in top}) == 3
        assert top[0]["id"] == token["id"]
        assert abs(top[0]["logprob"] - token["logprob"]) < 1e-4
        logprobs = [choice["logprob"] for choice in top]
        assert logprobs == sorted(logprobs, reverse=True)
        assert all(logprob <= 0 for logprob in logprobs)
    events = stream_events(client, FIB_PREFIX, max_new_tokens=4, top_n_tokens=3)
    assert [event["top_tokens"] for event in events] == steps


def test_top_tokens_are_left_out_unless_asked_for(client: httpx.Client) -> None:
    assert "top_tokens" not in generate(client, FIB_PREFIX, max_new_tokens=2)["details"]
    events = stream_events(client, FIB_PREFIX, max_new_tokens=2)
    assert all(event["top_tokens"] is None for event in events)


def test_more_top_n_tokens_than_tgi_allows_is_refused(client: httpx.Client) -> None:
    response = client.post(
        "/generate", json={"inputs": FIB_PREFIX, "parameters": {"top_n_tokens": 6}}
    )
    assert response.status_code == 422
    assert "top_n_tokens" in response.json()["error"]

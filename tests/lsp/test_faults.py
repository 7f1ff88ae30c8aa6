"""Model servers that are down, slow or failing: every request is still answered in
time, the user hears of it once, and a cancelled request stops the model's work.

Tests that count the stand-in's streams turn ``lookAhead`` off, so that warm-ups and
speculations (which fail quietly) do not add streams of their own; the first test keeps
it on, and shows their failures cost no extra message.

The stand-in servers here only make faults; the real host proves the features work. Each
fault is made in every dialect Quill speaks (TGI's API, and the OpenAI API as vLLM serves it),
found from ``serverUrl`` alone as a user's server would be.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from tests.conftest import STATS, STATS_URI, StartClient, inline_params, open_document
from tests.fake_tgi import DIALECTS, FakeTgi, closed_port_url, serve_fake_tgi


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    dialect: str = request.param
    return dialect


async def _wait_for(condition: Callable[[], object], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_a_server_that_is_down_gives_empty_answers_and_one_message(
    start_client: StartClient,
) -> None:
    client, _ = await start_client({"serverUrl": closed_port_url(), "deadlineMs": 3000})
    open_document(client, STATS_URI, STATS)
    for _ in range(3):
        started = time.monotonic()
        result = await client.text_document_inline_completion_async(inline_params())
        assert result is not None
        assert not result.items
        assert time.monotonic() - started < 3.0  # answered before the deadline, not at it
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1, errors
    assert "not reachable" in errors[0].message
    assert "127.0.0.1" in errors[0].message


async def test_a_stalled_server_is_cut_off_at_the_deadline(
    start_client: StartClient, dialect: str
) -> None:
    fake = FakeTgi("stall", dialect=dialect)
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client({"serverUrl": url, "lookAhead": False, "deadlineMs": 500})
        open_document(client, STATS_URI, STATS)
        started = time.monotonic()
        result = await client.text_document_inline_completion_async(inline_params())
        elapsed = time.monotonic() - started
        assert result is not None
        assert not result.items
        assert 0.4 < elapsed < 2.0
        await _wait_for(lambda: fake.streams_closed_by_client == 1)
        [message] = client.messages
        assert "deadline" in message.message


async def test_a_generation_error_is_reported_once(start_client: StartClient, dialect: str) -> None:
    fake = FakeTgi("error", dialect=dialect)
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client({"serverUrl": url, "lookAhead": False})
        open_document(client, STATS_URI, STATS)
        for _ in range(2):
            result = await client.text_document_inline_completion_async(inline_params())
            assert result is not None
            assert not result.items
        [message] = client.messages
        assert "out of memory" in message.message


async def test_a_newer_request_supersedes_and_stops_the_older(
    start_client: StartClient, dialect: str
) -> None:
    fake = FakeTgi("slow", token_interval_s=0.1, dialect=dialect)
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client(
            {
                "serverUrl": url,
                "lookAhead": False,
                "deadlineMs": 2000,
                "debounceMs": 0,
                "maxNewTokens": 500,
            }
        )
        open_document(client, STATS_URI, STATS)
        older = asyncio.ensure_future(
            client.text_document_inline_completion_async(inline_params(automatic=True))
        )
        await _wait_for(lambda: fake.streams_started == 1)
        fake.behaviour = "ok"  # the next stream answers "xxx" at once; the older one stays slow
        started = time.monotonic()
        newer = asyncio.ensure_future(
            client.text_document_inline_completion_async(inline_params(automatic=True))
        )
        older_result = await older
        assert older_result is not None
        assert not older_result.items  # answered at once, empty: it was superseded
        await _wait_for(lambda: fake.streams_closed_by_client == 1)
        await _wait_for(lambda: fake.streams_started == 2)
        # The newer request is not caught up in the older one's end: it gets its own answer,
        # well before the deadline.
        newer_result = await newer
        assert time.monotonic() - started < 1.5
        assert newer_result is not None
        [item] = newer_result.items
        assert item.insert_text == "xxx"
        assert not client.messages


async def test_cancel_request_closes_the_model_stream(
    start_client: StartClient, dialect: str
) -> None:
    fake = FakeTgi("slow", token_interval_s=0.1, dialect=dialect)
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client({"serverUrl": url, "lookAhead": False, "deadlineMs": 5000})
        open_document(client, STATS_URI, STATS)
        request = asyncio.ensure_future(
            client.protocol.send_request_async(
                types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(), msg_id="to-cancel"
            )
        )
        await _wait_for(lambda: fake.streams_started == 1)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="to-cancel"))
        with pytest.raises(JsonRpcRequestCancelled):
            await request
        await _wait_for(lambda: fake.streams_closed_by_client == 1)


@pytest.mark.parametrize(
    ("behaviour", "status", "cause"),
    [
        ("status", 429, "is overloaded"),
        ("status", 500, "reported an error"),
        ("invalid_json", 500, "a form Quill does not know"),
        ("cut", 500, "stopped in the middle of an answer"),
        ("error_event", 500, "CUDA out of memory"),
    ],
    ids=["429", "500", "invalid-json", "cut-stream", "error-event"],
)
async def test_each_fault_is_answered_in_time_and_named_once(
    start_client: StartClient, dialect: str, behaviour: str, status: int, cause: str
) -> None:
    fake = FakeTgi(behaviour, status=status, dialect=dialect)
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client(
            {"serverUrl": url, "lookAhead": False, "deadlineMs": 2000, "debounceMs": 0}
        )
        open_document(client, STATS_URI, STATS)
        for _ in range(3):
            started = time.monotonic()
            result = await client.text_document_inline_completion_async(inline_params())
            assert time.monotonic() - started < 2.0
            assert result is not None
            assert not result.items
        [message] = client.messages  # one per outage, not one per keystroke
        assert cause in message.message
        assert url in message.message  # names the server
        assert "Traceback" not in message.message


async def test_an_answer_far_longer_than_asked_is_cut_at_max_new_tokens(
    start_client: StartClient, dialect: str
) -> None:
    fake = FakeTgi("runaway", dialect=dialect)
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client(
            {
                "serverUrl": url,
                "lookAhead": False,
                "deadlineMs": 2000,
                "debounceMs": 0,
                "maxNewTokens": 8,
                "suggestions": 1,  # the likeliest only: its stream is the one cut
            }
        )
        open_document(client, STATS_URI, STATS)
        started = time.monotonic()
        result = await client.text_document_inline_completion_async(inline_params())
        assert time.monotonic() - started < 1.0  # not at the deadline: the client stopped
        assert result is not None
        # The stand-in streams one "x" per token: the answer is exactly the first eight.
        [item] = result.items
        assert item.insert_text == "x" * 8
        await _wait_for(lambda: fake.streams_closed_by_client == 1)
        assert not client.messages


async def test_a_token_of_garbage_size_is_refused_not_inserted(
    start_client: StartClient, dialect: str
) -> None:
    fake = FakeTgi("huge_token", dialect=dialect)
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client(
            {"serverUrl": url, "lookAhead": False, "deadlineMs": 2000, "debounceMs": 0}
        )
        open_document(client, STATS_URI, STATS)
        result = await client.text_document_inline_completion_async(inline_params())
        assert result is not None
        assert not result.items
        [message] = client.messages
        assert "1000000 characters" in message.message


async def test_the_server_coming_back_is_noticed_within_a_second(
    start_client: StartClient, dialect: str
) -> None:
    url = closed_port_url()
    client, _ = await start_client(
        {
            "serverUrl": url,
            "lookAhead": False,
            "deadlineMs": 2000,
            "debounceMs": 0,
            "suggestions": 1,  # one stream for the one completion that is counted
        }
    )
    states: list[str] = []
    client.feature("quill/status")(lambda params: states.append(params.state))
    open_document(client, STATS_URI, STATS)
    result = await client.text_document_inline_completion_async(inline_params())
    assert result is not None
    assert not result.items
    await _wait_for(lambda: states and states[-1] == "error")
    await asyncio.sleep(1.5)  # the probe has backed off to its longest wait
    fake = FakeTgi("ok", dialect=dialect)
    with serve_fake_tgi(fake, port=int(url.rsplit(":", 1)[1])):
        back = time.monotonic()
        await _wait_for(lambda: states[-1] == "ready", timeout_s=3.0)
        assert time.monotonic() - back <= 1.0
        result = await client.text_document_inline_completion_async(inline_params())
        assert result is not None
        assert result.items  # the next completion works
        assert fake.streams_started == 1

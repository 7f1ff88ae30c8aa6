"""Every request answered exactly once, documents exact: a fuzz campaign over raw stdio.

Hypothesis picks the seeds and encodings of short campaigns (a few hundred messages in
all, valid and malformed, against a real ``quill serve``); bench/fuzz_lsp.py runs the long
one. A failing seed replays exactly: the campaign is a function of its seed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lsp_fuzz import RawServer, run_campaign


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32), encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_a_fuzz_campaign_gets_every_request_answered_once(seed: int, encoding: str) -> None:
    report = asyncio.run(run_campaign(seed, 120, encoding))
    assert report.ok, report
    assert report.requests > 20
    assert report.document_checks > 0


async def _exchange(
    server: RawServer, body: bytes | dict[str, object], msg_id: object
) -> dict[str, Any]:
    await server.send(body)
    assert isinstance(msg_id, int | str)
    return await server.answer(msg_id)


async def test_each_kind_of_bad_request_gets_its_error_code() -> None:
    server = await RawServer.start()
    try:
        early = await _exchange(
            server, {"jsonrpc": "2.0", "id": 1, "method": "textDocument/completion"}, 1
        )
        assert early["error"]["code"] == -32002  # ServerNotInitialized
        params = {"capabilities": {}, "initializationOptions": {"enable": False}}
        init = {"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": params}
        assert "result" in await _exchange(server, init, 2)
        again = await _exchange(server, init | {"id": 3}, 3)
        assert again["error"]["code"] == -32600  # InvalidRequest: initialize twice
        await server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        doc = {"uri": "file:///a.py", "languageId": "python", "version": 1, "text": "x = 1\n"}
        await server.send(
            {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": doc}}
        )

        def completion(msg_id: int | str, uri: str, line: object) -> dict[str, object]:
            position = {"line": line, "character": 0}
            params = {"textDocument": {"uri": uri}, "position": position}
            return {"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/completion",
                    "params": params}  # fmt: skip

        cases: list[tuple[dict[str, object] | bytes, int | str, int]] = [
            (completion(10, "file:///a.py", -1), 10, -32602),  # negative: InvalidParams
            (completion("s11", "file:///a.py", "zero"), "s11", -32602),  # wrong type
            (completion(12, "file:///a.py", 99), 12, -32602),  # past the end
            (completion(13, "file:///unknown.py", 0), 13, -32602),  # document not open
            ({"jsonrpc": "2.0", "id": 14, "method": "quill/nothing"}, 14, -32601),
            ({"id": 15, "method": "textDocument/completion"}, 15, -32600),  # no "jsonrpc"
            ({"jsonrpc": "2.0", "id": 16, "method": 3}, 16, -32600),
        ]
        for body, msg_id, code in cases:
            answer = await _exchange(server, body, msg_id)
            assert answer["error"]["code"] == code, (body, answer)
        await server.send(b"{broken")
        fine = await _exchange(server, completion(17, "file:///a.py", 0), 17)
        assert "result" in fine  # the server lives on after a message that is not JSON
        assert server.answers[("NoneType", None)] == 1  # one ParseError, id null
        shutdown = {"jsonrpc": "2.0", "id": 18, "method": "shutdown"}
        assert "result" in await _exchange(server, shutdown, 18)
        late = await _exchange(server, completion(19, "file:///a.py", 0), 19)
        assert late["error"]["code"] == -32600  # after shutdown: InvalidRequest
        await server.send({"jsonrpc": "2.0", "method": "exit"})
        assert await asyncio.wait_for(server.process.wait(), 5) == 0
        assert all(count == 1 for key, count in server.answers.items() if key[1] is not None)
    finally:
        if server.process.returncode is None:
            server.process.kill()
            await server.process.wait()

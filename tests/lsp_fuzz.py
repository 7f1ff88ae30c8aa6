"""A fuzz campaign against ``quill serve`` over raw stdio.

Raw bytes with Content-Length framing, not a pygls client: the campaign must send what no
well-behaved client would build (params of the wrong type, broken JSON, ids of the wrong
type, requests before ``initialize``). The client keeps a reference copy of every
document and checks it against ``quill.documentState``; it counts the answers to each id.

Used by tests/lsp/test_fuzz.py (a short run in CI) and bench/fuzz_lsp.py (a long run).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_LINE_END = re.compile(r"\r\n|\r|\n")
_PIECES = ["x", "def ", " ", "\t", "é", "😀", "漢字", "\n", "\r\n", "\r", "()", "🎉", "ß"]
_PIECES += ["\u2028", "\f", "\x00"]  # not line ends in LSP
_UNITS = {
    "utf-8": lambda s: len(s.encode("utf-8")),
    "utf-16": lambda s: len(s.encode("utf-16-le")) // 2,
    "utf-32": len,
}
ANSWER_TIMEOUT_S = 10.0


@dataclass
class Report:
    messages: int = 0
    requests: int = 0
    unanswered: list[Any] = field(default_factory=list)
    answered_twice: list[Any] = field(default_factory=list)
    document_checks: int = 0
    document_mismatches: int = 0
    crashed: bool = False
    exit_code: int | None = None

    @property
    def ok(self) -> bool:
        return not (
            self.unanswered or self.answered_twice or self.document_mismatches or self.crashed
        )


def _position(text: str, offset: int, encoding: str) -> dict[str, int]:
    starts = [0, *(match.end() for match in _LINE_END.finditer(text))]
    line = max(index for index, start in enumerate(starts) if start <= offset)
    return {"line": line, "character": _UNITS[encoding](text[starts[line] : offset])}


def _offset(rng: random.Random, text: str, low: int = 0) -> int:
    while True:  # never between the two characters of a CRLF
        offset = rng.randint(low, len(text))
        if not (0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n"):
            return offset


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class RawServer:
    """``quill serve`` as a subprocess; every answer is recorded by id."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.answers: Counter[Any] = Counter()
        self.results: dict[Any, dict[str, Any]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls) -> RawServer:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "quill", "serve",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "QUILL_LOG_LEVEL": "WARNING"},
        )  # fmt: skip
        return cls(process)

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            length = 0
            while (line := await stdout.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            message = json.loads(await stdout.readexactly(length))
            if "method" in message:
                continue  # a notification or a request from the server
            key = (type(message.get("id")).__name__, message.get("id"))
            self.answers[key] += 1
            self.results[key] = message

    async def send(self, body: bytes | dict[str, Any]) -> None:
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(frame(body))
        await stdin.drain()

    async def answer(self, msg_id: int | str) -> dict[str, Any]:
        key = (type(msg_id).__name__, msg_id)
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            while key not in self.results:
                if self._reader.done():
                    raise RuntimeError("the server closed its output")
                await asyncio.sleep(0.005)
        return self.results[key]

    async def stop(self) -> int | None:
        try:
            await self.send({"jsonrpc": "2.0", "id": "shutdown", "method": "shutdown"})
            await self.answer("shutdown")
            await self.send({"jsonrpc": "2.0", "method": "exit"})
            async with asyncio.timeout(5):
                return await self.process.wait()
        except (TimeoutError, RuntimeError, ConnectionError):
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
            return None


class Campaign:
    """Random messages from one seed: valid, malformed and edits, in a random order."""

    def __init__(self, server: RawServer, rng: random.Random, encoding: str) -> None:
        self.server = server
        self.rng = rng
        self.encoding = encoding
        self.documents: dict[str, tuple[int, str]] = {}
        self.expected: list[int | str] = []
        self.report = Report()
        self._next_id = 0

    def _id(self) -> int | str:
        self._next_id += 1
        return self._next_id if self.rng.random() < 0.7 else f"req-{self._next_id}"

    async def request(self, method: str, params: Any, *, with_params: bool = True) -> int | str:
        msg_id = self._id()
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if with_params:
            message["params"] = params
        await self._send(message)
        self.expected.append(msg_id)
        return msg_id

    async def _send(self, body: bytes | dict[str, Any]) -> None:
        self.report.messages += 1
        await self.server.send(body)

    async def initialize(self) -> dict[str, Any]:
        # Requests before initialize must be refused, not dropped.
        early = await self.request("textDocument/completion", {})
        capabilities = {"general": {"positionEncodings": [self.encoding]}}
        init = await self.request(
            "initialize",
            {"processId": None, "rootUri": None, "capabilities": capabilities,
             "initializationOptions": {"enable": False}},
        )  # fmt: skip
        await self._send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        assert (await self.server.answer(early))["error"]["code"] == -32002
        return await self.server.answer(init)

    def _uri(self) -> str:
        if self.documents and self.rng.random() < 0.9:
            return self.rng.choice(sorted(self.documents))
        return f"file:///fuzz/doc{self.rng.randint(0, 3)}.py"

    def _random_position(self, uri: str) -> dict[str, Any]:
        text = self.documents.get(uri, (0, ""))[1]
        if self.rng.random() < 0.8:
            return _position(text, _offset(self.rng, text), self.encoding)
        return {"line": self.rng.choice([-1, 10**6, 2**31]), "character": self.rng.randint(-2, 9)}

    async def step(self) -> None:
        kind = self.rng.choices(
            ["edit", "open", "close", "request", "bad_params", "unknown", "garbage",
             "cancel", "check", "response"],
            weights=[30, 3, 1, 12, 12, 4, 10, 6, 6, 2],
        )[0]  # fmt: skip
        await getattr(self, f"_{kind}")()

    async def _open(self) -> None:
        uri = f"file:///fuzz/doc{self.rng.randint(0, 3)}.py"
        text = "".join(self.rng.choice(_PIECES) for _ in range(self.rng.randint(0, 20)))
        self.documents[uri] = (1, text)
        item = {"uri": uri, "languageId": "python", "version": 1, "text": text}
        await self._send(
            {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": item}}
        )

    async def _close(self) -> None:
        uri = self._uri()
        self.documents.pop(uri, None)
        params = {"textDocument": {"uri": uri}}
        await self._send({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": params})

    async def _edit(self) -> None:
        if not self.documents:
            return await self._open()
        uri = self.rng.choice(sorted(self.documents))
        version, text = self.documents[uri]
        changes = []
        for _ in range(self.rng.randint(1, 3)):  # applied in order, each on the last result
            start = _offset(self.rng, text)
            end = min(_offset(self.rng, text, start), start + self.rng.randint(0, 12))
            while end > start and text[end - 1 : end + 1] == "\r\n":
                end -= 1
            inserted = "".join(self.rng.choice(_PIECES) for _ in range(self.rng.randint(0, 4)))
            rng_ = {"start": _position(text, start, self.encoding),
                    "end": _position(text, end, self.encoding)}  # fmt: skip
            changes.append({"range": rng_, "text": inserted})
            text = text[:start] + inserted + text[end:]
        self.documents[uri] = (version + 1, text)
        params = {"textDocument": {"uri": uri, "version": version + 1}, "contentChanges": changes}
        await self._send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": params})

    async def _request(self) -> None:
        uri = self._uri()
        method = self.rng.choice(["textDocument/inlineCompletion", "textDocument/completion"])
        position = self._random_position(uri)
        params: dict[str, Any] = {"textDocument": {"uri": uri}, "position": position}
        if method == "textDocument/inlineCompletion":
            params["context"] = {"triggerKind": self.rng.choice([1, 2])}
        await self.request(method, params)

    async def _bad_params(self) -> None:
        uri = self._uri()
        bad: list[Any] = [
            None, [], 42, "text", {},
            {"textDocument": {"uri": uri}, "position": {"line": "1", "character": 0}},
            {"textDocument": {"uri": uri}, "position": {"line": -3, "character": -1}},
            {"textDocument": uri, "position": {"line": 0, "character": 0}},
            {"textDocument": {"uri": 7}, "position": {"line": 0, "character": 0}},
            {"textDocument": {"uri": uri}, "position": {"line": 1.5, "character": 0}},
            {"command": "quill.documentState", "arguments": [{"no": "uri"}]},
            {"command": 5},
        ]  # fmt: skip
        method = self.rng.choice(
            ["textDocument/completion", "textDocument/inlineCompletion", "workspace/executeCommand"]
        )
        await self.request(method, self.rng.choice(bad), with_params=self.rng.random() < 0.95)

    async def _unknown(self) -> None:
        await self.request(f"quill/unknown{self.rng.randint(0, 9)}", {"x": 1})

    async def _garbage(self) -> None:
        msg_id = self._id()
        choices: list[tuple[bytes | dict[str, Any], bool]] = [
            (b"{not json", False),
            (b'{"jsonrpc": "2.0", "id": 1, "method": "x", ', False),
            (b"\xff\xfe\x00garbage", False),
            (b"[1, 2, 3]", False),
            (b'"a string"', False),
            (b"null", False),
            ({"id": msg_id, "method": "textDocument/completion"}, True),  # no jsonrpc
            ({"jsonrpc": "1.0", "id": msg_id, "method": "textDocument/completion"}, True),
            ({"jsonrpc": "2.0", "id": msg_id, "method": 12}, True),
            ({"jsonrpc": "2.0", "id": {"an": "object"}, "method": "x"}, False),
            ({"jsonrpc": "2.0", "id": True, "method": "x"}, False),
            ({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": [1]}, False),
            ({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"x": None}}, False),
            ({"jsonrpc": "2.0"}, False),
        ]
        body, answered = self.rng.choice(choices)
        await self._send(body)
        if answered:
            self.expected.append(msg_id)

    async def _cancel(self) -> None:
        target = self.rng.choice([*self.expected[-5:], 10**9, "nope"])
        await self._send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": target}})

    async def _response(self) -> None:
        await self._send({"jsonrpc": "2.0", "id": f"client-{self.rng.random()}", "result": None})

    async def _check(self) -> None:
        if not self.documents:
            return
        uri = self.rng.choice(sorted(self.documents))
        msg_id = await self.request(
            "workspace/executeCommand", {"command": "quill.documentState", "arguments": [uri]}
        )
        answer = await self.server.answer(msg_id)
        self.report.document_checks += 1
        version, text = self.documents[uri]
        result = answer.get("result") or {}
        if result.get("text") != text or result.get("version") != version:
            self.report.document_mismatches += 1

    async def finish(self) -> Report:
        """Check every document, wait for every answer, then shut the server down."""
        for uri in sorted(self.documents):
            msg_id = await self.request(
                "workspace/executeCommand", {"command": "quill.documentState", "arguments": [uri]}
            )
            answer = await self.server.answer(msg_id)
            self.report.document_checks += 1
            if (answer.get("result") or {}).get("text") != self.documents[uri][1]:
                self.report.document_mismatches += 1
        for msg_id in self.expected:
            try:
                await self.server.answer(msg_id)
            except (TimeoutError, RuntimeError):
                self.report.unanswered.append(msg_id)
        await asyncio.sleep(0.2)  # a late second answer would arrive now
        self.report.requests = len(self.expected)
        twice = [k for k, n in self.server.answers.items() if n > 1 and k[1] is not None]
        self.report.answered_twice = twice
        self.report.crashed = self.server.process.returncode is not None
        self.report.exit_code = await self.server.stop()
        if self.report.exit_code != 0:
            self.report.crashed = True
        return self.report


async def run_campaign(seed: int, messages: int, encoding: str) -> Report:
    server = await RawServer.start()
    campaign = Campaign(server, random.Random(seed), encoding)
    try:
        init = await campaign.initialize()
        negotiated = init["result"]["capabilities"].get("positionEncoding", "utf-16")
        campaign.encoding = negotiated
        while campaign.report.messages < messages:
            await campaign.step()
        return await campaign.finish()
    finally:
        if server.process.returncode is None:
            server.process.kill()
            await server.process.wait()

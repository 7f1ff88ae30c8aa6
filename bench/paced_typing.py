"""A session typed at a human pace, with a completion request per keystroke, none awaited.

This is how an editor's automatic inline completion loads a server: each keystroke sends
its ``didChange`` and then a ``textDocument/inlineCompletion`` (trigger kind Automatic),
and the next keystroke comes ``key_ms`` later whether or not the answer has arrived. The
server's own settings do the rest: its debounce waits before calling the model, and a newer
request for the same document supersedes an older one, which is then answered empty. With
``enter_pause_ms`` the typist stops after each Enter to think before the next line. With
``cancel_previous`` the client also sends ``$/cancelRequest`` for a request still
unanswered when the next key is typed, as VS Code does; the server answers such a request
with the RequestCancelled error.

Each request is sorted by its answer:

  suggestion   a non-empty suggestion (shown if it came before the next keystroke)
  superseded   empty, and it came after a newer request had been sent
  cancelled    the RequestCancelled error
  deadline     empty, at least the deadline after its keystroke
  empty        empty otherwise: the model had nothing to say there
  error        any other error

Latency is measured from the keystroke that triggered the request to its answer.

Owned here: the pace, each request's record (``PacedRequest``, which ``line_start_typist.py``
keeps too) and how an answer lands in it, a session typed at that pace, and its report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled
from pygls.lsp.client import LanguageClient

from bench_stats import markdown_table, percentile, slash_cell
from editing_sessions import SessionDocument
from host_counters import Counts, difference, generations_cell, host_counters, reuse_cell, total
from lsp_session import completion_params, first_suggestion
from typing_replay import close_document, open_document, type_key

OUTCOMES = ("suggestion", "superseded", "cancelled", "deadline", "empty", "error")
_DEADLINE_SLACK = 0.97  # an empty answer this close to the deadline was cut by it


@dataclass(frozen=True)
class Pace:
    key_ms: float  # between keystrokes
    enter_pause_ms: float  # added after each Enter: a pause to think at a line start
    cancel_previous: bool  # $/cancelRequest for the unanswered request at each keystroke
    deadline_ms: float  # the server's, to recognise answers cut by it


@dataclass
class PacedRequest:
    after_enter: bool  # the keystroke was Enter (a line start)
    sent: float  # time.perf_counter() at the keystroke (its didChange, then the request)
    expected: str  # the rest of the line as the author wrote it
    next_key: float | None = None  # when the next keystroke was typed; None after the last
    newer_sent: float | None = None  # when the next request for the document was sent
    answered: float | None = None
    text: str = ""  # the suggestion; "" for an empty answer
    error: BaseException | None = None

    @property
    def latency_ms(self) -> float:
        return 1000 * ((self.answered or self.sent) - self.sent)

    @property
    def shown(self) -> bool:
        """A suggestion that arrived before the next keystroke (one after it is stale)."""
        if not self.text or self.answered is None:
            return False
        return self.next_key is None or self.answered <= self.next_key

    def outcome(self, deadline_ms: float) -> str:
        if getattr(self.error, "code", None) == JsonRpcRequestCancelled.CODE:
            return "cancelled"
        if self.error is not None:
            return "error"
        if self.text:
            return "suggestion"
        if self.latency_ms >= _DEADLINE_SLACK * deadline_ms:
            return "deadline"
        if self.newer_sent is not None and self.answered and self.answered >= self.newer_sent:
            return "superseded"
        return "empty"


@dataclass
class PacedResult:
    name: str
    keystrokes: int
    requests: list[PacedRequest] = field(default_factory=list)
    host: Counts = field(default_factory=dict)  # the host's counters over the session
    late_ms: list[float] = field(default_factory=list)  # each keystroke, after its time

    def count(self, outcome: str, deadline_ms: float) -> int:
        return sum(request.outcome(deadline_ms) == outcome for request in self.requests)


async def record_answer(
    request: PacedRequest,
    answer: Awaitable[object],
    errors: type[BaseException] | tuple[type[BaseException], ...] = JsonRpcException,
) -> None:
    """Await ``answer`` to ``request``: its suggestion, or the error (of ``errors``) it
    came back as, and when."""
    try:
        request.text = first_suggestion(await answer)
    except errors as error:
        request.error = error
    request.answered = time.perf_counter()


async def type_session(
    client: LanguageClient, host_url: str, document: SessionDocument, pace: Pace, name: str
) -> PacedResult:
    """Open the document, type its keys at ``pace`` with a request after each, wait for
    every answer, close it."""
    uri, keys, original_lines = document.uri, document.keys, document.lines
    result = PacedResult(name, len(keys))
    before = host_counters(host_url)
    open_document(client, uri, document.text)
    answers: list[asyncio.Task[None]] = []
    position = document.start
    loop = asyncio.get_running_loop()
    key_time = loop.time()
    for index, key in enumerate(keys):
        await asyncio.sleep(max(0.0, key_time - loop.time()))
        result.late_ms.append(1000 * (loop.time() - key_time))
        key_time += (pace.key_ms + (pace.enter_pause_ms if "\n" in key else 0.0)) / 1000
        now = time.perf_counter()
        previous = result.requests[-1] if result.requests else None
        position = type_key(client, uri, index + 2, position, key)
        if previous is not None:
            previous.next_key = previous.newer_sent = now
            if pace.cancel_previous and previous.answered is None:
                client.protocol.notify(
                    types.CANCEL_REQUEST, types.CancelParams(id=_request_id(name, index - 1))
                )
        request = PacedRequest(
            after_enter="\n" in key,
            sent=now,
            expected=original_lines[position.line][position.character :].rstrip("\r\n"),
        )
        result.requests.append(request)
        answers.append(
            asyncio.create_task(_ask(client, uri, position, _request_id(name, index), request))
        )
    await asyncio.gather(*answers)
    close_document(client, uri)
    await asyncio.sleep(0.5)  # abandoned streams reach the host's counters
    result.host = difference(host_counters(host_url), before)
    return result


def _request_id(session: str, index: int) -> str:
    return f"{session}#{index}"


async def _ask(
    client: LanguageClient,
    uri: str,
    position: types.Position,
    request_id: str,
    request: PacedRequest,
) -> None:
    answer = client.protocol.send_request_async(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, completion_params(uri, position), msg_id=request_id
    )
    await record_answer(request, answer)


def report_paced(results: list[PacedResult], pace: Pace, settings: str, seconds: float) -> None:
    requests = [request for result in results for request in result.requests]
    deadline = pace.deadline_ms
    counts = {outcome: sum(r.count(outcome, deadline) for r in results) for outcome in OUTCOMES}
    suggestions = [request for request in requests if request.text]
    keystrokes = sum(result.keystrokes for result in results)
    late = [ms for result in results for ms in result.late_ms]
    print()
    print(
        f"a request after every keystroke, keys {pace.key_ms:.0f} ms apart "
        f"({pace.enter_pause_ms:.0f} ms more after Enter), "
        f"{'the previous request cancelled at each key' if pace.cancel_previous else 'no cancel'}"
        f"; {settings}; {len(results)} sessions replayed in {seconds:.0f} s"
    )
    print()
    header = ["session (file:line)", "keystrokes", *OUTCOMES, "suggestions: p50 / p95 ms",
              "line starts: shown / any suggestion", "reused tokens"]  # fmt: skip
    rows = []
    for result in results:
        starts = [request for request in result.requests if request.after_enter]
        latencies = [request.latency_ms for request in result.requests if request.text]
        rows.append(
            [
                result.name,
                str(result.keystrokes),
                *(str(result.count(outcome, deadline)) for outcome in OUTCOMES),
                _p50_p95(latencies),
                _line_starts(starts),
                reuse_cell(result.host),
            ]
        )
    print(markdown_table(header, rows))
    host = total([result.host for result in results])
    starts = [request for request in requests if request.after_enter]
    compared = [request for request in suggestions if request.expected.strip()]
    equal = sum(
        request.text.split("\n", 1)[0].rstrip() == request.expected.rstrip() for request in compared
    )
    summary = [
        ("keystrokes typed (= requests sent)", f"{keystrokes} ({len(requests)} requests)"),
        ("keystrokes typed late: more than 20 ms after their time / p95 lateness",
         f"{sum(ms > 20 for ms in late)} / {percentile(late, 95):.0f} ms"),
        ("answered with a suggestion", f"{counts['suggestion']} "
                                       f"({sum(r.shown for r in requests)} before the next key)"),
        ("answered empty because superseded by a newer request", str(counts["superseded"])),
        ("cancelled by the client (RequestCancelled)", str(counts["cancelled"])),
        ("deadline hits (empty, at the deadline)", str(counts["deadline"])),
        ("answered empty otherwise (nothing from the model)", str(counts["empty"])),
        ("errors", str(counts["error"])),
        ("latency from the keystroke, answers with a suggestion: p50 / p95",
         _p50_p95([request.latency_ms for request in suggestions])),
        ("latency from the keystroke, all answers: p50 / p95",
         _p50_p95([request.latency_ms for request in requests])),
        ("line starts (requests right after Enter): a suggestion before the next key / at all",
         _line_starts(starts)),
        ("suggestion's first line = the rest of the line typed",
         f"{equal}/{len(compared)}"),
        ("host: generation requests (closed early), seconds spent on them",
         generations_cell(host)),
        ("host: prompt tokens of finished generations, computed / reused",
         f"{host['computed']:,.0f} / {host['reused']:,.0f} ({reuse_cell(host)} reused)"),
    ]  # fmt: skip
    print()
    print(markdown_table(["measure", "value"], [list(row) for row in summary]))


def _line_starts(starts: list[PacedRequest]) -> str:
    shown = sum(request.shown for request in starts)
    any_suggestion = sum(bool(request.text) for request in starts)
    return f"{shown} / {any_suggestion} of {len(starts)}"


def _p50_p95(values: list[float]) -> str:
    return slash_cell(values, "p50", "p95") if values else "-"

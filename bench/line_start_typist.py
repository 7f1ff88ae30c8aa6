"""A person typing a hunk back in, who stops at each line start to look for ghost text.

What an editor sends as a person types (see ``paced_typing.py``): each keystroke is a
``didChange`` and an automatic ``textDocument/inlineCompletion``, not awaited; the next key
comes ``key_ms`` later, and the server's own debounce and deadline decide the rest. Enter
brings the next line's indentation in the same edit, as auto-indent does.

The person is what ``paced_typing.py`` lacks: at each **line start** (after Enter and the
indentation) they stop and look, until the answer arrives or ``look_ms`` has passed, because
that is where ghost text is worth waiting for. Ghost text that comes is read for ``read_ms``
(by default a keystroke's time: an instant decision), then:

- if its first line is the line they meant to write, they **accept** it (Tab: one edit
  inserting that first line, not the lines after it; the editor asks again at once) and go
  on with Enter at the next line start;
- else they type the line key by key. While what they type is the beginning of the ghost
  text, each key should be answered with the rest of it at once (**type-through**): those
  keystrokes are kept, to count the ones answered so within 50 ms.

A blank line is typed as a bare Enter, with no stop: nobody waits for code there.

Where the server has the ``quill.stats`` command, its counters are read around each line
start, which says who answered it: a model call, the type-through cache or a speculation
(the suggestion computed in advance as if the one shown were accepted).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from host_counters import Counts, difference, host_counters
from line_start_sessions import TypingPlan
from lsp_session import completion_params, execute
from paced_typing import PacedRequest, record_answer
from typing_replay import close_document, is_word_char, open_document, type_key

WARM_AFTER_MS = 300.0  # as the VS Code client waits for the cursor to rest
TYPE_THROUGH_MS = 50.0  # a type-through answer slower than this shows as a flicker
_ANSWER_SLACK_S = 5.0  # after the last key, how long past the deadline answers are awaited


@dataclass(frozen=True)
class TypistPace:
    key_ms: float  # between keystrokes
    look_ms: float  # the longest stop at a line start
    read_ms: float  # from ghost text appearing there to the next key (Tab, or typing on)
    open_pause_ms: float  # from opening the file to the first Enter (finding the place)
    deadline_ms: float  # the server's, to recognise answers cut by it
    # Whether the editor says where the cursor was placed (``quill.warmAt``, ``WARM_AFTER_MS``
    # after it rests), as the VS Code and Neovim clients do.
    warms_where_placed: bool = True


@dataclass
class LineStart:
    """One stop at a line start, and what the typist saw there."""

    expected: str  # the line as the author wrote it, after its indentation
    request: PacedRequest
    first_in_file: bool  # the session's first: the file was just opened
    after_accept: bool  # the line above was an accepted suggestion
    ghost_ms: float | None = None  # keystroke to non-empty ghost text; None: none in the look
    seen: str = ""  # the suggestion seen within the look
    source: str = "n/a"  # who answered: model, type-through, speculation, none (n/a: no stats)
    held: bool | None = None  # after an acceptance: the server counted a speculative hit
    # The model answered from the small prompt (the file's full one not computed yet).
    small_prompt: bool | None = None
    accepted: bool = False
    # Keystrokes typed through the suggestion seen, with the rest of its line they should get.
    through: list[tuple[PacedRequest, str]] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        first_line = self.seen.split("\n", 1)[0].rstrip()
        return bool(self.seen) and first_line == self.expected.rstrip()

    @property
    def through_hits(self) -> int:
        return sum(_typed_through(request, rest) for request, rest in self.through)


def _typed_through(request: PacedRequest, rest: str) -> bool:
    first_line = request.text.split("\n", 1)[0]
    return bool(request.text) and first_line == rest and request.latency_ms <= TYPE_THROUGH_MS


@dataclass
class SessionRecord:
    name: str
    line_starts: list[LineStart] = field(default_factory=list)
    requests: list[PacedRequest] = field(default_factory=list)  # one per keystroke
    word_requests: list[PacedRequest] = field(default_factory=list)  # after a word's end
    accept_requests: list[PacedRequest] = field(default_factory=list)  # after each Tab
    late_ms: list[float] = field(default_factory=list)  # each keystroke, after its time
    server: Counts | None = None  # quill.stats over the session; None where there is none
    # Whether the server's copy of the document ended as the original file (trailing
    # spaces aside): a check that the keystrokes went where they should. None: not known.
    typed_back: bool | None = None
    host: Counts = field(default_factory=dict)  # the host's /metrics over the session
    seconds: float = 0.0


class ServerStats:
    """The server's ``quill.stats`` counters, or ``None`` once it turns out not to have them."""

    def __init__(self, client: LanguageClient) -> None:
        self._client = client
        self.available = True

    async def read(self) -> Counts | None:
        if not self.available:
            return None
        try:
            result: Any = await execute(self._client, "quill.stats")
        except Exception:  # an unknown command is an error answer: an older server
            result = None
        if not isinstance(result, dict):
            self.available = False
            return None
        return {str(key): float(value) for key, value in result.items()}


class _Keyboard:
    """Keystrokes into one open document, a request after each, at the typist's pace."""

    def __init__(
        self, client: LanguageClient, uri: str, position: types.Position, pace: TypistPace
    ) -> None:
        self.client, self.uri, self.position, self.pace = client, uri, position, pace
        self.loop = asyncio.get_running_loop()
        self.version = 1
        self.next_key = self.loop.time() + pace.open_pause_ms / 1000
        self.last_char = "\n"
        self.pending: dict[int, asyncio.Task[None]] = {}  # by id() of the request

    async def press(self, record: SessionRecord, key: str, expected: str) -> PacedRequest:
        """Type ``key`` at its time and ask for a suggestion (answered in the background)."""
        await asyncio.sleep(max(0.0, self.next_key - self.loop.time()))
        record.late_ms.append(1000 * (self.loop.time() - self.next_key))
        self.next_key = max(self.next_key, self.loop.time()) + self.pace.key_ms / 1000
        now = time.perf_counter()
        self.version += 1
        self.position = type_key(self.client, self.uri, self.version, self.position, key)
        if record.requests:
            record.requests[-1].next_key = record.requests[-1].newer_sent = now
        request = PacedRequest(after_enter="\n" in key, sent=now, expected=expected)
        record.requests.append(request)
        if not is_word_char(key[-1:]) and is_word_char(self.last_char) and "\n" not in key:
            record.word_requests.append(request)
        self.last_char = key[-1:] or self.last_char
        task = asyncio.create_task(_ask(self.client, self.uri, self.position, request))
        self.pending[id(request)] = task
        task.add_done_callback(lambda _: self.pending.pop(id(request), None))
        return request

    async def look(self, request: PacedRequest) -> None:
        """Stop until ``request`` is answered or the look time is over; the next key comes
        a reading time after ghost text appears (a keystroke's time after none)."""
        task = self.pending.get(id(request))
        if task is not None:
            left = request.sent + self.pace.look_ms / 1000 - time.perf_counter()
            await asyncio.wait({task}, timeout=max(0.0, left))
        pause_ms = self.pace.read_ms if request.text else self.pace.key_ms
        self.next_key = self.loop.time() + pause_ms / 1000

    async def finish(self) -> None:
        """Wait for every answer still due (each is bounded by the server's deadline)."""
        if self.pending:
            timeout = self.pace.deadline_ms / 1000 + _ANSWER_SLACK_S
            await asyncio.wait(list(self.pending.values()), timeout=timeout)


async def _ask(
    client: LanguageClient, uri: str, position: types.Position, request: PacedRequest
) -> None:
    answer = client.text_document_inline_completion_async(completion_params(uri, position))
    await record_answer(request, answer, Exception)  # an error answer is an outcome to count


async def type_plan(
    client: LanguageClient,
    host_url: str,
    plan: TypingPlan,
    pace: TypistPace,
    stats: ServerStats,
    verbose: bool = False,
) -> SessionRecord:
    """Open ``plan``'s file, type its hunk back in as a person does, close it."""
    record = SessionRecord(plan.name)
    started = time.perf_counter()
    host_before, server_before = host_counters(host_url), await stats.read()
    uri = plan.path.as_uri()
    open_document(client, uri, plan.text)
    keyboard = _Keyboard(client, uri, plan.start, pace)
    if pace.warms_where_placed:
        await asyncio.sleep(min(WARM_AFTER_MS, pace.open_pause_ms) / 1000)
        position = {"line": plan.start.line, "character": plan.start.character}
        await execute(client, "quill.warmAt", {"uri": uri, "position": position})
    accepted_at: Counts | None = None  # quill.stats when the last suggestion was accepted
    after_accept = False
    for indent, content in plan.lines:
        if not content.strip():
            await keyboard.press(record, "\n" + indent, "")
            continue
        before = await stats.read()
        request = await keyboard.press(record, "\n" + indent, content)
        start = LineStart(content, request, not record.line_starts, after_accept)
        record.line_starts.append(start)
        await keyboard.look(request)
        if request.answered is not None and request.text:
            start.ghost_ms, start.seen = request.latency_ms, request.text
        after = await stats.read()
        start.source = _who_answered(before, after)
        start.small_prompt = _small_prompt(before, after)
        if after_accept and accepted_at is not None and after is not None:
            start.held = after.get("speculativeHits", 0) > accepted_at.get("speculativeHits", 0)
        if verbose:
            tab = record.accept_requests[-1] if start.after_accept else None
            _print_line_start(start, tab)
        after_accept = start.exact
        if start.exact:
            first_line = start.seen.split("\n", 1)[0]
            accepted_at, start.accepted = after, True
            record.accept_requests.append(await keyboard.press(record, first_line, ""))
            continue
        shown = start.seen.split("\n", 1)[0]
        for typed, char in enumerate(content, start=1):
            request = await keyboard.press(record, char, content[typed:])
            if typed < len(shown) and content[:typed] == shown[:typed]:
                start.through.append((request, shown[typed:]))
    await keyboard.finish()
    server_after = await stats.read()
    record.typed_back = await _typed_back(client, uri, plan.original)
    close_document(client, uri)
    await asyncio.sleep(0.5)  # abandoned streams reach the host's counters
    record.host = difference(host_counters(host_url), host_before)
    if server_before is not None and server_after is not None:
        record.server = difference(server_after, server_before)
    record.seconds = time.perf_counter() - started
    return record


async def _typed_back(client: LanguageClient, uri: str, original: str) -> bool | None:
    """Whether the server holds ``original`` for ``uri`` now (``quill.documentState``),
    line by line with trailing spaces aside: an accepted suggestion may differ there."""
    try:
        state: Any = await execute(client, "quill.documentState", uri)
    except Exception:  # a server without the command: nothing to check against
        return None
    if not isinstance(state, dict):
        return None
    held = [line.rstrip() for line in str(state.get("text", "")).splitlines()]
    return held == [line.rstrip() for line in original.splitlines()]


def _who_answered(before: Counts | None, after: Counts | None) -> str:
    """Which of the server's counters moved while the typist stood at a line start."""
    if before is None or after is None:
        return "n/a"
    moved = difference(after, before)
    if moved.get("typeThroughHits", 0) > 0:
        return "type-through"
    if moved.get("speculativeHits", 0) > 0:
        return "speculation"
    if moved.get("modelCalls", 0) > 0:
        return "model"
    return "none"


def _small_prompt(before: Counts | None, after: Counts | None) -> bool | None:
    """Whether the model answered from the small prompt, where the server counts those."""
    if before is None or after is None or "smallPrompts" not in after:
        return None
    return difference(after, before).get("smallPrompts", 0) > 0


def _print_line_start(start: LineStart, tab: PacedRequest | None) -> None:
    """One line start as the typist met it (``--verbose``), and after an acceptance, what
    the request sent with the Tab had got by then."""
    ms = f"{start.ghost_ms:5.0f} ms" if start.ghost_ms is not None else "   none "
    mark = "=" if start.exact else " "
    after = " (after an acceptance)" if start.after_accept else ""
    source = "model, small" if start.small_prompt else start.source
    print(f"    {ms} {mark} {source:12} wrote {start.expected!r}{after}")
    if tab is not None:
        print(f"{'':27}at Tab {_answer_state(tab)}")
    if start.seen:
        first_line, *more = start.seen.split("\n")
        print(f"{'':27}got   {first_line!r}" + (f" (+{len(more)} lines)" if more else ""))


def _answer_state(request: PacedRequest) -> str:
    if request.answered is None:
        return "no answer yet"
    if request.error is not None:
        return f"error after {request.latency_ms:.0f} ms: {request.error}"
    return f"{request.latency_ms:.0f} ms: {request.text!r}"

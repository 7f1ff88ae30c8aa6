"""Completion requests as an editor makes them: many, overlapping, often abandoned.

A newer request for the same document supersedes the older one (its model call is
cancelled, which closes its HTTP stream), every request is answered within the deadline,
and a model server that fails is reported once per outage, not once per keystroke.

The model is asked as little and as early as possible: typed-through and accepted
suggestions are answered from ``SuggestionCache`` without a model call, and a document's
prompt is prefilled ("warmed") on the model server when it is opened and when typing
starts in it, so the first suggestion there does not pay for a cold prompt.

Until the server has computed a document's full prompt (on a CPU that takes seconds, past
the deadline), its suggestions come from a small one (``coldPromptTokens``: the text
around the cursor), which a warm-up computes first. The server does one thing at a time,
in this order: the request the user waits for, the speculation the user may ask for next,
the warm-up. A warm-up stopped by the others goes on once neither asks the model; the
server keeps what each computed, so nothing starts over.

An explicit request (the editor's next-suggestion key) gets other suggestions too (see
``quill.completion.branches``), without waiting past the deadline for them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Literal

import attrs

from quill.backends.base import ServerInfo
from quill.backends.embedded_host import HostStartError
from quill.backends.endpoint import EndpointProvider, ModelEndpoint
from quill.backends.errors import FailureKind, ModelServerError
from quill.completion.file_window import window_ahead
from quill.completion.gate import Extent, choose_extent
from quill.completion.pipeline import Continuation, Suggestion, suggest, warm
from quill.completion.suggestion_cache import (
    Compute,
    MadeSuggestion,
    SuggestionCache,
    Wanted,
)
from quill.completion.templates import Prompt, anchored_window_start
from quill.context.prompt_context import PromptContext
from quill.cursor import Cursor
from quill.redaction import NotShared
from quill.settings import Settings, camel_case

log = logging.getLogger(__name__)

# The health probe after a failure: first try, and the longest wait between tries (the
# bound on how long the user waits to hear that the server is back).
PROBE_FIRST_DELAY_S = 0.1
PROBE_MAX_DELAY_S = 0.8

# A document whose prompt the model server has not seen for this long is warmed again when
# typing starts in it: by then its sequence has likely left the server's cache.
WARM_AGAIN_AFTER_S = 60.0

WARM_DEADLINE_S = 60.0

ANSWER_MARGIN_S = 0.05
"""Kept free before the deadline for the answer: other suggestions still being made then
are left out, not the likeliest one with them."""

# What the editor's status bar shows (the ``quill/status`` notification). "warming": the
# embedded host is still loading its model, which is no outage.
StatusState = Literal["ready", "working", "warming", "error", "disabled"]
StatusCallback = Callable[[StatusState, str | None], None]

# Which request asks: ghost text (``textDocument/inlineCompletion``) or a completion item
# (``textDocument/completion``). A client may send both for one keystroke; each supersedes
# only its own kind, or the two would cancel each other forever.
RequestKind = Literal["inline", "item"]


CONTEXT_REFRESH_PAUSE_S = 1.5
"""A document whose context pieces a fresh choice would change gets that choice (a warm-up)
once typing in it pauses this long. The pieces sit above the file window, so a new choice
makes the model server compute the window again: seconds on a CPU, which while the user
types would land on the next line start (measured: 1.2-1.6 s instead of 0.3 s there)."""


class OutageReporter:
    """Shows the first failure of an outage; stays quiet until the server recovers."""

    def __init__(self, show_error: Callable[[str], None]) -> None:
        self._show_error = show_error
        self.in_outage = False
        self.last_failure: str | None = None

    def failed(self, message: str) -> None:
        log.warning("%s", message)
        self.last_failure = message
        if not self.in_outage:
            self.in_outage = True
            self._show_error(message)

    def recovered(self) -> None:
        if self.in_outage:
            log.info("the model server answers again")
            self.in_outage = False
        self.last_failure = None


@attrs.define
class RequestCounts:
    """What the service did with its requests (``quill.stats``, the benchmarks)."""

    requests: int = 0
    model_calls: int = 0  # requests that went on to the model, not answered from the cache
    small_prompts: int = 0  # of those answered, the ones from the small prompt (still cold)
    warmups: int = 0
    read_on: int = 0  # speculations answered by reading the shown suggestion's answer on
    places_to_warm: int = 0  # where the editor said typing will start (``quill.warmAt``)


class CompletionService:
    def __init__(
        self,
        show_error: Callable[[str], None],
        endpoints: EndpointProvider | None = None,
        on_status: StatusCallback | None = None,
    ) -> None:
        self.settings = Settings()
        self.endpoints = endpoints or EndpointProvider()
        self.outage = OutageReporter(show_error)
        self._on_status = on_status
        self.last_prompt: Prompt | None = None
        self.last_server: ServerInfo | None = None  # the server that answered last
        self.tokens_exact = True  # whether its prompts were counted in its own tokenizer
        self.token_source = "server"  # where: the server, a tokenizer file, an estimate
        self.context: PromptContext | None = None  # the workspace's, once there is one
        self._running: dict[tuple[str, RequestKind], asyncio.Task[Suggestion | None]] = {}
        self._probe: asyncio.Task[None] | None = None
        self.cache = SuggestionCache(self._speculate, self._resume_warm_ups)
        self.counts = RequestCounts()
        self._warmed: dict[str, float] = {}  # document → when its prompt last reached the server
        self._computed: dict[str, float] = {}  # document → when its full prompt was last computed
        self._refreshes: dict[str, asyncio.Task[None]] = {}  # document → its pending refresh
        self._warm_ups: dict[str, asyncio.Task[None]] = {}  # document → its warm-up at work
        # Document → where a warm-up is wanted once the server is free, and whether it is
        # ahead of the cursor (the window moved on); and → the window start warmed ahead.
        self._to_warm: dict[str, tuple[Cursor, bool]] = {}
        self._warmed_ahead: dict[str, int] = {}
        self._asking = 0  # requests at their model call (past the debounce, not cached)

    def stats(self) -> dict[str, int]:
        """The counters, camelCase as the ``quill.stats`` command returns them."""
        counts = attrs.asdict(self.counts) | attrs.asdict(self.cache.counts)
        return {camel_case(name): value for name, value in counts.items()}

    async def complete(
        self,
        key: str,
        cursor: Cursor,
        *,
        debounce: bool,
        kind: RequestKind = "inline",
        count: int = 1,
    ) -> Suggestion | None:
        """A suggestion for ``cursor`` (with up to ``count`` - 1 others to cycle to);
        ``None`` if disabled, superseded or failed.

        ``key`` names the document: a newer request of the same ``kind`` for it cancels
        this one. Cancelling the calling task (``$/cancelRequest``) cancels the model call
        too.
        """
        if not self.settings.enable:
            return None
        self.counts.requests += 1
        self._cancel_refresh(key)  # the user is typing in it: not paused yet
        running_key = (key, kind)
        if (previous := self._running.pop(running_key, None)) is not None:
            previous.cancel()
        if debounce and self.settings.look_ahead and not self._warmed_lately(key):
            self._warmed[key] = time.monotonic()
            self.warm(key, cursor)  # while the user types on, before the debounce ends
        task = asyncio.create_task(self._answer(key, cursor, debounce, count))
        self._running[running_key] = task
        self._report("working")
        try:
            return await task
        except asyncio.CancelledError:
            caller = asyncio.current_task()
            if caller is not None and caller.cancelling():
                raise  # the client cancelled this request
            return None  # superseded by a newer request for the same document
        finally:
            if self._running.get(running_key) is task:
                del self._running[running_key]
            if not self._running:
                self.report_status()
            self._resume_warm_ups()

    def start_embedded_host(self) -> None:
        """Start the embedded host in the background: the status says "warming" until it
        serves (or fails, which the next completion reports)."""

        def started(_: object) -> None:
            if not self._running:
                self.report_status()

        self.endpoints.start_embedded_host(self.settings.host_model).add_done_callback(started)

    def warm(self, key: str, cursor: Cursor, ahead: bool = False) -> None:
        """Have the model server prefill the prompt for ``cursor`` in ``key``'s document
        (no answer is read), in the background: the next suggestion there then starts
        warm. It replaces the document's warm-up at work, whose part computed so far the
        server keeps. ``ahead``: a place the cursor has not reached (see ``_answer``)."""
        if not (self.settings.enable and self.settings.look_ahead):
            return
        if (previous := self._warm_ups.pop(key, None)) is not None:
            previous.cancel()
        task = asyncio.create_task(self._warm(key, cursor, ahead))
        self._warm_ups[key] = task

        def ended(_: object) -> None:
            if self._warm_ups.get(key) is task:
                del self._warm_ups[key]

        task.add_done_callback(ended)

    def warm_where_typing_starts(self, key: str, cursor: Cursor) -> None:
        """The editor says where typing will start (a document became active, or the
        cursor was placed and rests there): warm there, so the first suggestion in ``key``'s
        document is not its coldest. Nothing is done while a request for it runs."""
        self.counts.places_to_warm += 1
        if any(running == key for running, _ in self._running):
            return
        self._warmed[key] = time.monotonic()
        self.warm(key, cursor)

    def _resume_warm_ups(self) -> None:
        """The warm-ups that requests and speculations stopped go on once none of those
        asks the model (a request waiting out its debounce does not): the server keeps
        what each computed, so a cold document's full prompt gets done between them,
        however briefly the user pauses. Measured: resumed only once no request ran at
        all, two documents in three stayed cold while typed in at 80 ms a key."""
        if self._asking or self.cache.speculating():
            return
        for key, (cursor, ahead) in list(self._to_warm.items()):
            if not ahead and not self._cold(key):
                del self._to_warm[key]  # a suggestion with the full prompt came first
            elif key not in self._warm_ups:
                self.warm(key, cursor, ahead)

    def _yield_background_work(self) -> None:
        """A request the user waits for (or soon may: a speculation) goes first: warm-ups
        still at work are stopped.
        (A model server computes one prompt at a time on a CPU; what a warm-up computed
        so far stays in its cache, and stopping it between batches costs nothing.)"""
        for task in list(self._warm_ups.values()):
            task.cancel()

    def forget(self, key: str) -> None:
        """The document was closed: drop what is known of it."""
        self.cache.forget(key)
        self._warmed.pop(key, None)
        self._computed.pop(key, None)
        self._to_warm.pop(key, None)
        self._warmed_ahead.pop(key, None)
        self._cancel_refresh(key)
        if (warm_up := self._warm_ups.pop(key, None)) is not None:
            warm_up.cancel()

    def _refresh_when_paused(self, key: str, cursor: Cursor) -> None:
        """Compute the fresh context for ``key``'s document once typing in it pauses
        (``CONTEXT_REFRESH_PAUSE_S``); a request for it before then puts it off."""

        async def refresh() -> None:
            await asyncio.sleep(CONTEXT_REFRESH_PAUSE_S)
            self._refreshes.pop(key, None)
            self.warm(key, cursor)

        self._cancel_refresh(key)
        self._refreshes[key] = asyncio.create_task(refresh())

    def _cancel_refresh(self, key: str) -> None:
        if (pending := self._refreshes.pop(key, None)) is not None:
            pending.cancel()

    def _warmed_lately(self, key: str) -> bool:
        return _lately(self._warmed.get(key))

    def _cold(self, key: str) -> bool:
        """Whether ``key``'s suggestions take the small prompt: the server has not
        computed its full one lately, and a warm-up will (look-ahead is on)."""
        settings = self.settings
        if not (settings.look_ahead and settings.cold_prompt_tokens):
            return False
        return not _lately(self._computed.get(key))

    async def _answer(
        self, key: str, cursor: Cursor, debounce: bool, count: int
    ) -> Suggestion | None:
        """From the cache if it knows the answer, else from the model (then shown, and
        speculated on). Where others are wanted too, the model is asked for those only."""
        known = await self.cache.answer(key, cursor)
        if known is not None and count == 1:
            return Suggestion(known, None, 0.0)
        suggestion = await self._complete_within_deadline(key, cursor, debounce, count, known)
        self._warmed[key] = time.monotonic()
        if suggestion is not None and known is None:
            made = MadeSuggestion.at(cursor, suggestion.text)
            speculate = self._read_on(suggestion.continuation) if suggestion.continuation else None
            self.cache.show(key, made, self.settings.look_ahead, speculate)
        if self._cold(key):
            self._to_warm[key] = (cursor, False)  # the request stopped its warm-up
        elif (ahead := self._window_ahead(key, cursor)) is not None:
            self._to_warm[key] = (ahead, True)
        return suggestion

    def _window_ahead(self, key: str, cursor: Cursor) -> Cursor | None:
        """Where to warm the prompt of the window the cursor is about to move on to,
        unless that window was warmed already (see ``file_window.window_ahead``)."""
        ahead = window_ahead(cursor, self.settings.max_prefix_chars)
        if ahead is None:
            return None
        start = anchored_window_start(ahead.text, ahead.offset, self.settings.max_prefix_chars)
        if self._warmed_ahead.get(key) == start:
            return None
        self._warmed_ahead[key] = start
        return ahead

    def status(self) -> tuple[StatusState, str | None]:
        """The state when no completion is running: disabled, failing, or ready (the
        embedded host still starting shows as warming)."""
        if not self.settings.enable:
            return "disabled", None
        if self.outage.last_failure is not None:
            return "error", self.outage.last_failure
        if self.endpoints.starting:
            return "warming", "the model host is loading its model"
        return "ready", None

    def report_status(self) -> None:
        """Tell the status callback the state at rest (after a completion, or a settings
        change)."""
        self._report(*self.status())

    def _report(self, state: StatusState, message: str | None = None) -> None:
        if self._on_status is not None:
            self._on_status(state, message)

    async def _complete_within_deadline(
        self, key: str, cursor: Cursor, debounce: bool, count: int, known: str | None
    ) -> Suggestion | None:
        settings = self.settings
        endpoint: ModelEndpoint | None = None
        deadline = asyncio.get_running_loop().time() + settings.deadline_ms / 1000
        try:
            async with asyncio.timeout_at(deadline):
                if debounce and settings.debounce_ms and cursor.line_prefix.strip():
                    # Mid-line, the user is typing on: wait for a pause. At a line start
                    # (Enter, and the editor's indentation) a suggestion is most wanted, so
                    # it is asked at once; a key typed next cancels it cheaply.
                    await asyncio.sleep(settings.debounce_ms / 1000)
                if self.endpoints.starting:
                    self._report("warming", "the model host is loading its model")
                endpoint = await self.endpoints.get(settings)
                self._report("working")
                self._yield_background_work()
                self.counts.model_calls += 1
                cold = self._cold(key)
                self._asking += 1
                try:
                    suggestion = await suggest(
                        cursor,
                        endpoint,
                        settings,
                        self.context,
                        cold=cold,
                        count=count,
                        known=known,
                        # At a line start an empty suggestion is a miss; mid-line it may
                        # be right (the line is done).
                        fill_empty=settings.suggestions > 1 and not cursor.line_prefix.strip(),
                        until=deadline - ANSWER_MARGIN_S,
                        keep_reading=settings.look_ahead and count == 1,
                    )
                finally:
                    self._asking -= 1
        except TimeoutError:
            if self._warming_up(endpoint):
                log.info("no suggestion yet: the embedded host is still warming up")
                self._report("warming", "the model host is loading its model")
                return None  # not an outage: the status says so, and the next one is warm
            where = f"the model server at {endpoint.url}" if endpoint else "the model server"
            self.outage.failed(
                f"Quill: {where} did not answer within the {settings.deadline_ms} ms deadline"
            )
            return None
        except ModelServerError as error:
            self.outage.failed(error.user_message())
            if error.kind is FailureKind.UNREACHABLE and endpoint is not None:
                await self.endpoints.forget(endpoint)
            if error.kind in (FailureKind.UNREACHABLE, FailureKind.TIMEOUT):
                # Only a server that did not answer at all is probed: one that answers
                # 429 or 500 passes /health and is back when a completion works.
                self._start_probe()
            return None
        except HostStartError as error:
            self.outage.failed(f"Quill: {error}")
            return None
        self.outage.recovered()
        endpoint.answered = True
        self.last_server = await endpoint.info()  # known by now: the prompt needed it
        self.tokens_exact = endpoint.tokens.exact
        self.token_source = endpoint.token_source
        if suggestion is None:
            return None
        if cold:
            self.counts.small_prompts += 1
        else:
            self._computed[key] = time.monotonic()
        if suggestion.prompt is not None and suggestion.prompt.context_stale:
            self._refresh_when_paused(key, cursor)
        self.last_prompt = suggestion.prompt  # kept even when the answer was empty
        return suggestion if suggestion.text else None

    def _warming_up(self, endpoint: ModelEndpoint | None) -> bool:
        """Whether a request ran out of time because the embedded host is starting, or
        has not answered yet (its first prompt is cold): that is the host warming up."""
        if self.settings.server_url:
            return False
        return self.endpoints.starting if endpoint is None else not endpoint.answered

    def _read_on(self, continuation: Continuation) -> Compute:
        """The speculation that reads the shown suggestion's answer on: the next lines of
        it, where it goes on, else a model call of its own (``_speculate``)."""

        async def speculate(key: str, cursor: Cursor, wanted: Wanted) -> str | None:
            rest = await continuation.rest(wanted)
            if rest is None:
                return await self._speculate(key, cursor, wanted)
            self.counts.read_on += 1
            return rest

        return speculate

    async def _speculate(self, key: str, cursor: Cursor, wanted: Wanted) -> str | None:
        """The suggestion at an accepted suggestion's end, computed before it is asked
        for. Failures are quiet: the request that would have used it asks anew.

        Where the accepted text ends its line, what comes next is the following lines
        (typed through once the user presses Enter), not more of a finished line.
        """
        settings = self.settings
        extent = choose_extent(cursor)
        if extent is Extent.LINE and not cursor.line_suffix.strip():
            extent = Extent.BLOCK
        cold = self._cold(key)
        suggestion = None
        try:
            async with asyncio.timeout(settings.deadline_ms / 1000):
                endpoint = await self.endpoints.get(settings)
                # Measured: a warm-up that had the server first held a speculation for
                # 2.9 s, and the user who had accepted waited for it.
                self._yield_background_work()
                suggestion = await suggest(
                    cursor,
                    endpoint,
                    settings,
                    self.context,
                    extent,
                    cold,
                    fill_empty=False,
                    wanted=wanted,
                )
        except (TimeoutError, ModelServerError, HostStartError) as error:
            log.debug("speculation failed: %s", error)
        if suggestion is not None and not cold:
            self._computed[key] = time.monotonic()
        return suggestion.text if suggestion is not None else None

    async def _warm(self, key: str, cursor: Cursor, ahead: bool = False) -> None:
        """Nobody waits for a warm-up, and a cold prompt may take longer than a request's
        deadline to compute (seconds, on a CPU): it gets its own, longer bound. Done or
        failed, it is no longer wanted; stopped, it is resumed (``_resume_warm_ups``)."""
        settings = self.settings
        started = time.monotonic()
        try:
            async with asyncio.timeout(WARM_DEADLINE_S):
                endpoint = await self.endpoints.get(settings)
                if self._cold(key):
                    # The small prompt first (about a second on a 2-core CPU, where the
                    # full one takes four): a suggestion asked meanwhile then starts warm.
                    await warm(cursor, endpoint, settings, self.context, cold=True)
                await warm(cursor, endpoint, settings, self.context, ahead=ahead)
                self.counts.warmups += 1
                self._computed[key] = time.monotonic()
                log.debug("warmed in %.0f ms", (time.monotonic() - started) * 1000)
        except (TimeoutError, ModelServerError, HostStartError, NotShared) as error:
            log.debug("warming failed: %s", error)
        except asyncio.CancelledError:
            log.debug("warm-up stopped after %.0f ms", (time.monotonic() - started) * 1000)
            raise
        if (place := self._to_warm.get(key)) is not None and place[0] is cursor:
            del self._to_warm[key]

    async def aclose(self) -> None:
        """Stop background work (speculations, warming) and close the connections."""
        self.cache.close()
        for task in [*self._warm_ups.values(), *self._refreshes.values()]:
            task.cancel()
        await self.endpoints.aclose()

    def _start_probe(self) -> None:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._probe_until_healthy())

    async def _probe_until_healthy(self) -> None:
        """Ask a failing server's ``/health`` with backoff (0.1 s doubling to at most
        ``PROBE_MAX_DELAY_S``) until it answers: the error status clears within a second
        of the server coming back, without waiting for the user's next keystroke. The
        embedded host is not probed: the next completion restarts it."""
        delay = PROBE_FIRST_DELAY_S
        while self.outage.in_outage:
            await asyncio.sleep(delay)
            delay = min(delay * 2, PROBE_MAX_DELAY_S)
            settings = self.settings
            if not (settings.enable and settings.server_url and self.outage.in_outage):
                return
            endpoint = await self.endpoints.get(settings)
            try:
                async with asyncio.timeout(PROBE_MAX_DELAY_S):
                    healthy = await endpoint.client.health()
            except TimeoutError:
                healthy = False
            if healthy and self.outage.in_outage:
                self.outage.recovered()
                if not self._running:
                    self.report_status()


def _lately(when: float | None) -> bool:
    """Whether ``when`` (a monotonic time) is recent enough that the model server likely
    still holds what was computed then (``WARM_AGAIN_AFTER_S``)."""
    return when is not None and time.monotonic() - when <= WARM_AGAIN_AFTER_S

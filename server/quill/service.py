"""Completion requests as an editor makes them: many, overlapping, often abandoned.

A newer request for the same document supersedes the older one (its model call is
cancelled, which closes its HTTP stream), every request is answered within the deadline,
and a model server that fails is reported once per outage, not once per keystroke.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from quill.backends.errors import FailureKind, ModelServerError
from quill.cursor import Cursor
from quill.embedded_host import HostStartError
from quill.model_endpoint import EndpointProvider, ModelEndpoint
from quill.pipeline import Suggestion, suggest
from quill.prompt_builder import PromptContext
from quill.prompts import Prompt
from quill.settings import Settings

log = logging.getLogger(__name__)

# The health probe after a failure: first try, and the longest wait between tries (the
# bound on how long the user waits to hear that the server is back).
PROBE_FIRST_DELAY_S = 0.1
PROBE_MAX_DELAY_S = 0.8

# What the editor's status bar shows (the ``quill/status`` notification).
StatusState = Literal["ready", "working", "error", "disabled"]
StatusCallback = Callable[[StatusState, str | None], None]


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
        self.context: PromptContext | None = None  # the workspace's, once there is one
        self._running: dict[str, asyncio.Task[Suggestion | None]] = {}
        self._probe: asyncio.Task[None] | None = None

    async def complete(self, key: str, cursor: Cursor, *, debounce: bool) -> Suggestion | None:
        """A suggestion for ``cursor``; ``None`` if disabled, superseded or failed.

        ``key`` names the document: a newer request with the same key cancels this one.
        Cancelling the calling task (``$/cancelRequest``) cancels the model call too.
        """
        if not self.settings.enable:
            return None
        if (previous := self._running.pop(key, None)) is not None:
            previous.cancel()
        task = asyncio.create_task(self._complete_within_deadline(cursor, debounce))
        self._running[key] = task
        self._report("working")
        try:
            return await task
        except asyncio.CancelledError:
            caller = asyncio.current_task()
            if caller is not None and caller.cancelling():
                raise  # the client cancelled this request
            return None  # superseded by a newer request for the same document
        finally:
            if self._running.get(key) is task:
                del self._running[key]
            if not self._running:
                self.report_status()

    def status(self) -> tuple[StatusState, str | None]:
        """The state when no completion is running: disabled, failing, or ready."""
        if not self.settings.enable:
            return "disabled", None
        if self.outage.last_failure is not None:
            return "error", self.outage.last_failure
        return "ready", None

    def report_status(self) -> None:
        """Tell the status callback the state at rest (after a completion, or a settings
        change)."""
        self._report(*self.status())

    def _report(self, state: StatusState, message: str | None = None) -> None:
        if self._on_status is not None:
            self._on_status(state, message)

    async def _complete_within_deadline(self, cursor: Cursor, debounce: bool) -> Suggestion | None:
        settings = self.settings
        endpoint: ModelEndpoint | None = None
        try:
            async with asyncio.timeout(settings.deadline_ms / 1000):
                if debounce and settings.debounce_ms:
                    await asyncio.sleep(settings.debounce_ms / 1000)
                endpoint = await self.endpoints.get(settings)
                suggestion = await suggest(cursor, endpoint, settings, self.context)
        except TimeoutError:
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
        if suggestion is None:
            return None
        self.last_prompt = suggestion.prompt  # kept even when the answer was empty
        return suggestion if suggestion.text else None

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

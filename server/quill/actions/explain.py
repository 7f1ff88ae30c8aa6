"""Explanations the model writes: of a selection, or of the function or class at a
position (the ``quill.explain`` command), and the sentence a hover shows under a
definition.

A hover's explanation is cached by the definition's content, so the next hover over the
same code is instant; one that comes too late for its hover keeps running, for the next.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable

import attrs

from quill.actions.listing import line_bounds
from quill.actions.model_call import prompter_of, run_model_call
from quill.backends.embedded_host import HostStartError
from quill.backends.endpoint import ModelEndpoint
from quill.backends.errors import ModelServerError
from quill.context import syntax
from quill.redaction import NotShared

log = logging.getLogger(__name__)

Endpoint = Callable[[], Awaitable[ModelEndpoint]]


@attrs.frozen
class Subject:
    """What to explain, and how the explanation names it."""

    source: str
    language: str  # a grammar name, or "text"
    what: str  # "the selection", "`mean`", "this line"


def subject_at(text: str, language: str | None, start: int, end: int) -> Subject:
    """The selection ``text[start:end]``; where nothing is selected, the function or
    class at ``start``, else its line."""
    if end > start:
        return Subject(text[start:end], language or "text", "the selection")
    definition = syntax.parse(text, language).definition_at(start) if language else None
    if definition is not None:
        source = text[definition.line_start : definition.end]
        return Subject(source, language or "text", f"`{definition.name}`")
    first, last = line_bounds(text, start, start)
    return Subject(text[first:last], language or "text", "this line")


async def explain(endpoint: ModelEndpoint, subject: Subject, path: str) -> str:
    """The explanation in Markdown, under a heading that names its subject."""
    prompter = await prompter_of(endpoint)
    call = prompter.explain(subject.source, subject.language, False)
    answer = (await run_model_call(endpoint, call, path)).strip()
    return f"### Explanation of {subject.what}\n\n{answer or '(the model had nothing to say)'}"


class HoverExplanations:
    """One-sentence explanations for hovers, by the content they explain."""

    def __init__(self, max_cached: int = 512) -> None:
        self._tasks: dict[str, asyncio.Task[str | None]] = {}
        self._max_cached = max_cached

    def explanation(
        self, endpoint: Endpoint, source: str, language: str, path: str
    ) -> asyncio.Task[str | None]:
        """The explanation of ``source``: cached, running, or started now. A failed one
        (``None``) is asked again at the next hover."""
        key = hashlib.sha256(f"{language}\0{source}".encode()).hexdigest()
        task = self._tasks.get(key)
        if task is None or (task.done() and (task.cancelled() or task.result() is None)):
            if len(self._tasks) >= self._max_cached:
                self._tasks.pop(next(iter(self._tasks)))
            explained = _one_sentence(endpoint, source, language, path)
            task = self._tasks[key] = asyncio.create_task(explained)
        return task


async def _one_sentence(endpoint: Endpoint, source: str, language: str, path: str) -> str | None:
    try:
        server = await endpoint()
        prompter = await prompter_of(server)
        answer = await run_model_call(server, prompter.explain(source, language, True), path)
    except (ModelServerError, HostStartError, NotShared) as error:
        log.info("no hover explanation: %s", error)
        return None
    answer = answer.strip()
    if not answer:
        return None
    return answer if prompter.chat else f"This code {answer}"

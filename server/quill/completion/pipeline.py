"""The completion path, stage by stage: gate → context and prompt → model call →
post-process.

Every stage but the model call works on the cursor snapshot and the settings (the
context reads the workspace index as it is at that moment, never waiting for it); this
module only strings them together and says how long each took.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncGenerator

import attrs

from quill.backends.answers import MAX_STOP_SEQUENCES, LineReader, fenced_code, generate_lines
from quill.backends.base import GenerationOptions, ModelServer, session_key
from quill.backends.endpoint import ModelEndpoint
from quill.completion.branches import branch_suggestions
from quill.completion.gate import Extent, choose_extent, stop_sequences
from quill.completion.postprocess import postprocess
from quill.completion.prompt import build_prompt
from quill.completion.suggestion_cache import Wanted
from quill.completion.templates import Prompt, template_for
from quill.context.prompt_context import PromptContext
from quill.cursor import Cursor
from quill.redaction import NotShared
from quill.settings import Settings

log = logging.getLogger(__name__)


class Continuation:
    """The rest of a suggestion's answer, which the model goes on writing once the
    suggestion is shown (``LineReader``): the suggestion at its end, once accepted, is
    the next lines of the same answer. Nothing is asked anew, and they are ready sooner
    than a new request's (the model had begun them before the first was shown).

    It is read at once, for one more time budget, and then closed, whether or not
    anyone asks for it: an answer left open would keep the server writing."""

    def __init__(
        self,
        reader: LineReader,
        raw: str,
        shown: str,
        cursor: Cursor,
        extent: Extent,
        stops: tuple[str, ...],
        budget_s: float,
    ) -> None:
        self._wanted: Wanted = lambda: False

        async def read_on() -> str | None:
            try:
                more = await reader.read(budget_s, lambda: self._wanted())
            finally:
                await reader.aclose()
            whole = postprocess(raw + more, cursor, extent, stops)
            if not whole.startswith(shown) or len(whole) == len(shown):
                return None
            return whole[len(shown) :]

        self._reading = asyncio.create_task(read_on())

    async def rest(self, wanted: Wanted) -> str | None:
        """The suggestion at the end of the one shown: the answer's next complete lines
        (once the budget is spent, or ``wanted``), post-processed as part of the whole.
        ``None`` where the answer ends with what was shown, or its whole does not begin
        with it. Cancelling the caller stops the reading (and the server)."""
        self._wanted = wanted
        return await self._reading


@attrs.frozen
class Suggestion:
    text: str
    prompt: Prompt | None  # None when no model was asked (a suggestion already made)
    model_ms: float
    others: tuple[str, ...] = ()  # further suggestions to cycle to, likeliest first
    # The answer read on, where the caller asked (``keep_reading``) and it goes on.
    continuation: Continuation | None = None

    def texts(self) -> list[str]:
        """Every suggestion, the likeliest first, each once, none empty."""
        return [text for text in dict.fromkeys((self.text, *self.others)) if text]


EMPTY_BRANCHES = 2
"""Where the likeliest suggestion comes out empty (the model would end the text there, or
wrote what post-processing drops), the branches tried for one to show instead."""


async def suggest(
    cursor: Cursor,
    endpoint: ModelEndpoint,
    settings: Settings,
    context: PromptContext | None = None,
    extent: Extent | None = None,
    cold: bool = False,
    *,
    count: int = 1,
    known: str | None = None,
    fill_empty: bool = True,
    until: float = math.inf,
    keep_reading: bool = False,
    wanted: Wanted = lambda: False,
) -> Suggestion | None:
    """One suggestion for the cursor (its text empty when the model had nothing that
    fits), or ``None`` where nothing should be asked at all. ``extent``: how much to
    suggest, when the caller knows better than the text around the cursor. ``cold``: from
    the small prompt, as the document's full one is not in the server's cache yet.

    ``count``: how many suggestions are wanted (see ``quill.completion.branches``);
    ``known``: the likeliest, where it is known already (on screen), so only the others
    are generated. ``fill_empty``: an empty likeliest one is replaced by a branch.
    ``until``: when the others must be done (the event loop's clock), or be left out.
    ``keep_reading``: the answer is read on past the suggestion, for one more budget (see
    ``Continuation``), for the caller's speculation. ``wanted``: a speculation's, whose
    answer ends at its first complete lines once the user asks for it."""
    started = time.perf_counter()
    extent = extent or choose_extent(cursor)
    if extent is None:
        return None
    try:
        prompt = await prompt_for(cursor, endpoint, settings, context, True, cold)
    except NotShared as reason:
        log.debug("no suggestion: %s", reason)
        return None
    stops = stop_sequences(extent) + prompt.stop
    options = GenerationOptions(
        max_new_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        stop=stops[:MAX_STOP_SEQUENCES],
        session=session_key(cursor.path),
    )
    model_started = time.perf_counter()
    budget_s = settings.predict_ms / 1000
    continuation = None
    if known is not None:
        text = known
    elif prompt.messages:
        raw = await chat_completion(endpoint, prompt, cursor, settings)
        text = postprocess(raw, cursor, extent, stops)
    else:
        reader = LineReader(
            model_stream(endpoint.client, prompt, options), stops, extent is Extent.LINE
        )
        try:
            raw = await reader.read(budget_s, wanted)
            text = postprocess(raw, cursor, extent, stops)
            # Only the likeliest is wanted: others would wait behind the open stream.
            if keep_reading and count == 1 and text and not reader.ended:
                continuation = Continuation(reader, raw, text, cursor, extent, stops, budget_s)
        finally:
            if continuation is None:
                await reader.aclose()
    others: list[str] = []
    if continuation is None:  # else the likeliest alone was wanted, and it is not empty
        branches = count - 1 if text or not fill_empty else max(count - 1, EMPTY_BRANCHES)
        others = await branch_suggestions(
            endpoint.client, prompt, options, cursor, extent, branches, budget_s, until
        )
    if not text:
        found = [other for other in others if other]
        text, others = (found[0], found[1:]) if found else ("", [])
    model_ms = (time.perf_counter() - model_started) * 1000
    log.info(
        "suggestion %s:%d extent=%s prompt=%s%s tokens, %d pieces, model=%.0f ms "
        "total=%.0f ms -> %d chars%s",
        cursor.path, cursor.offset, extent.value, "cold " if cold else "", prompt.tokens,
        len(prompt.pieces), model_ms, (time.perf_counter() - started) * 1000, len(text),
        f" and {len(others)} others" if others else "",
    )  # fmt: skip
    return Suggestion(text, prompt, model_ms, tuple(others), continuation)


async def prompt_for(
    cursor: Cursor,
    endpoint: ModelEndpoint,
    settings: Settings,
    context: PromptContext | None = None,
    hold_context: bool = False,
    cold: bool = False,
    ahead: bool = False,
) -> Prompt:
    """The prompt for ``cursor`` in the format the model server's model wants (with
    ``cold``, the small one; with ``ahead``, for a place the cursor has not reached: see
    ``quill.completion.prompt``). Raises ``NotShared`` for a private file or a cursor
    inside a credential (see ``quill.completion.file_window``).

    A suggestion holds the document's context as it was (a changed context costs the
    whole file window's prefill, seconds on a CPU, while the user waits); a warm-up then
    takes the fresh choice, off the request path (see ``CompletionService``).
    """
    info = await endpoint.info()
    template = template_for(
        settings.prompt_format, info.model_id, info.fim_markers, info.fills_in_middle
    )
    return await build_prompt(
        cursor, template, settings, info, endpoint.tokens, context, hold_context, cold, ahead
    )


async def warm(
    cursor: Cursor,
    endpoint: ModelEndpoint,
    settings: Settings,
    context: PromptContext | None = None,
    cold: bool = False,
    ahead: bool = False,
) -> None:
    """Have the model server compute the prompt for ``cursor`` (with ``cold``, the small
    one) into its KV cache, so the suggestions that follow reuse it. One token is
    generated: servers refuse zero, and one costs a single decode step after the prefill.
    ``ahead``: a place the cursor has not reached, whose prompt holds the context the
    cursor's has (the fresh choice is made where the cursor is)."""
    prompt = await prompt_for(
        cursor, endpoint, settings, context, hold_context=ahead, cold=cold, ahead=ahead
    )
    options = GenerationOptions(max_new_tokens=1, session=session_key(cursor.path))
    if prompt.messages:
        messages = [{"role": role, "content": content} for role, content in prompt.messages]
        await endpoint.client.chat(messages, options)
    else:
        await generate_lines(model_stream(endpoint.client, prompt, options), (), math.inf)


def model_stream(
    client: ModelServer, prompt: Prompt, options: GenerationOptions
) -> AsyncGenerator[str, None]:
    """The model's answer to a raw prompt, or to a fill-in-the-middle the server lays out."""
    if prompt.fill_in_middle is not None:
        return client.fill_in_middle(prompt.fill_in_middle, options)
    return client.generate_stream(prompt.text, options)


async def chat_completion(
    endpoint: ModelEndpoint, prompt: Prompt, cursor: Cursor, settings: Settings
) -> str:
    """An instruct model's answer: the code of its fenced block, without the part of
    the cursor's line it may have repeated."""
    messages = [{"role": role, "content": content} for role, content in prompt.messages]
    options = GenerationOptions(
        settings.max_new_tokens, settings.temperature, session=session_key(cursor.path)
    )
    code = fenced_code(await endpoint.client.chat(messages, options))
    typed = cursor.line_prefix.lstrip()
    if typed and code.lstrip().startswith(typed):
        code = code.lstrip()[len(typed) :]
    return code

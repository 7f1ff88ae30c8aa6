"""The completion path, stage by stage: gate → context and prompt → model call →
post-process.

Every stage but the model call works on the cursor snapshot and the settings (the
context reads the workspace index as it is at that moment, never waiting for it); this
module only strings them together and says how long each took.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing

import attrs

from quill.action_prompts import InstructPrompter
from quill.backends.base import GenerationOptions, ModelServer, session_key
from quill.cursor import Cursor
from quill.model_endpoint import ModelEndpoint
from quill.postprocess import Extent, choose_extent, postprocess, stop_sequences
from quill.prompt_builder import PromptContext, build_prompt
from quill.prompts import Prompt, template_for
from quill.redaction import NotShared
from quill.settings import Settings

log = logging.getLogger(__name__)

# TGI's default ``max_stop_sequences``; more would be refused with a 422.
MAX_STOP_SEQUENCES = 4


@attrs.frozen
class Suggestion:
    text: str
    prompt: Prompt | None  # None when no model was asked (a suggestion already made)
    model_ms: float


async def suggest(
    cursor: Cursor,
    endpoint: ModelEndpoint,
    settings: Settings,
    context: PromptContext | None = None,
    extent: Extent | None = None,
) -> Suggestion | None:
    """One suggestion for the cursor (its text empty when the model had nothing that
    fits), or ``None`` where nothing should be asked at all. ``extent``: how much to
    suggest, when the caller knows better than the text around the cursor."""
    started = time.perf_counter()
    extent = extent or choose_extent(cursor)
    if extent is None:
        return None
    try:
        prompt = await prompt_for(cursor, endpoint, settings, context, hold_context=True)
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
    if prompt.messages:
        raw = await chat_completion(endpoint, prompt, cursor, settings)
    else:
        budget_s = settings.predict_ms / 1000
        stream = model_stream(endpoint.client, prompt, options)
        raw = await generate_lines(stream, stops, budget_s, extent is Extent.LINE)
    model_ms = (time.perf_counter() - model_started) * 1000
    text = postprocess(raw, cursor, extent, stops)
    log.info(
        "suggestion %s:%d extent=%s prompt=%s tokens, %d pieces, model=%.0f ms "
        "total=%.0f ms -> %d chars",
        cursor.path, cursor.offset, extent.value, prompt.tokens, len(prompt.pieces), model_ms,
        (time.perf_counter() - started) * 1000, len(text),
    )  # fmt: skip
    return Suggestion(text, prompt, model_ms)


async def prompt_for(
    cursor: Cursor,
    endpoint: ModelEndpoint,
    settings: Settings,
    context: PromptContext | None = None,
    hold_context: bool = False,
) -> Prompt:
    """The prompt for ``cursor`` in the format the model server's model wants. Raises
    ``NotShared`` for a private file or a cursor inside a credential (see
    ``quill.file_window``).

    A suggestion holds the document's context as it was (a changed context costs the
    whole file window's prefill, seconds on a CPU, while the user waits); a warm-up then
    takes the fresh choice, off the request path (see ``CompletionService``).
    """
    info = await endpoint.info()
    template = template_for(
        settings.prompt_format, info.model_id, info.fim_markers, info.fills_in_middle
    )
    return await build_prompt(
        cursor, template, settings, info, endpoint.tokens, context, hold_context
    )


async def warm(
    cursor: Cursor,
    endpoint: ModelEndpoint,
    settings: Settings,
    context: PromptContext | None = None,
) -> None:
    """Have the model server compute the prompt for ``cursor`` into its KV cache, so the
    suggestions that follow reuse it. One token is generated: servers refuse zero, and one
    costs a single decode step after the prefill."""
    prompt = await prompt_for(cursor, endpoint, settings, context)
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


async def generate_lines(
    stream: AsyncGenerator[str, None],
    stops: tuple[str, ...],
    budget_s: float,
    cut_line: bool = False,
) -> str:
    """The streamed answer, ended by a stop sequence or by the time budget: once
    ``budget_s`` is spent (counted from the request, prefill included), the answer is
    the complete lines generated so far and the stream is closed, so the model stops.

    A block is not paid for up front: its first lines arrive within the budget, and the
    rest comes with the next suggestion. Its first line is always finished, as the start
    of a statement is rarely a suggestion. With ``cut_line`` (the rest of a line, typed
    into), a line still being written is cut after its last finished item instead: a
    long line (a list, a call with many arguments) would otherwise hold the suggestion
    for a second, and its rest comes with the next suggestion too.
    """
    text = ""
    started = time.perf_counter()
    async with aclosing(stream) as tokens:
        async for token in tokens:
            text += token
            if any(stop in text for stop in stops):
                break
            if time.perf_counter() - started >= budget_s and (end := lines_end(text, cut_line)):
                return text[:end]
    return text


PARTIAL_LINE_MIN_CHARS = 8
"""The least a first line cut at the budget shows: less is not worth a glance."""

# The end of a finished item: a separator or a closer, with the space after it.
_ITEM_END = re.compile(r"[,;)\]}]\s*")


def lines_end(text: str, cut_line: bool = False) -> int:
    """Where the answer can end at the budget: after its complete lines, or with
    ``cut_line`` while none is complete, after the line's last finished item outside a
    string (0: not yet)."""
    end = text.rfind("\n")
    if end > 0 and text[:end].strip():
        return end
    if end != -1 or not cut_line:
        return 0
    ends = [match.end() for match in _ITEM_END.finditer(text)]
    cut = ends[-1] if ends else 0
    head = text[:cut]
    if len(head.strip()) < PARTIAL_LINE_MIN_CHARS or head.count('"') % 2 or head.count("'") % 2:
        return 0
    return cut


async def generate_until_stop(
    client: ModelServer, prompt: str, options: GenerationOptions, stops: tuple[str, ...]
) -> str:
    """The streamed answer, closed as soon as a stop sequence shows: servers that ignore
    some stops (or get only the first four) must not keep generating for nothing."""
    return await generate_lines(client.generate_stream(prompt, options), stops, math.inf)


async def chat_completion(
    endpoint: ModelEndpoint, prompt: Prompt, cursor: Cursor, settings: Settings
) -> str:
    """An instruct model's answer: the code of its fenced block, without the part of
    the cursor's line it may have repeated."""
    messages = [{"role": role, "content": content} for role, content in prompt.messages]
    options = GenerationOptions(
        settings.max_new_tokens, settings.temperature, session=session_key(cursor.path)
    )
    code = InstructPrompter().extract_code(await endpoint.client.chat(messages, options))
    typed = cursor.line_prefix.lstrip()
    if typed and code.lstrip().startswith(typed):
        code = code.lstrip()[len(typed) :]
    return code

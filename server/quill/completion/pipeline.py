"""The completion path, stage by stage: gate → context and prompt → model call →
post-process.

Every stage but the model call works on the cursor snapshot and the settings (the
context reads the workspace index as it is at that moment, never waiting for it); this
module only strings them together and says how long each took.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncGenerator

import attrs

from quill.backends.answers import MAX_STOP_SEQUENCES, fenced_code, generate_lines
from quill.backends.base import GenerationOptions, ModelServer, session_key
from quill.backends.endpoint import ModelEndpoint
from quill.completion.gate import Extent, choose_extent, stop_sequences
from quill.completion.postprocess import postprocess
from quill.completion.prompt import build_prompt
from quill.completion.templates import Prompt, template_for
from quill.context.prompt_context import PromptContext
from quill.cursor import Cursor
from quill.redaction import NotShared
from quill.settings import Settings

log = logging.getLogger(__name__)


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
    cold: bool = False,
) -> Suggestion | None:
    """One suggestion for the cursor (its text empty when the model had nothing that
    fits), or ``None`` where nothing should be asked at all. ``extent``: how much to
    suggest, when the caller knows better than the text around the cursor. ``cold``: from
    the small prompt, as the document's full one is not in the server's cache yet."""
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
    if prompt.messages:
        raw = await chat_completion(endpoint, prompt, cursor, settings)
    else:
        budget_s = settings.predict_ms / 1000
        stream = model_stream(endpoint.client, prompt, options)
        raw = await generate_lines(stream, stops, budget_s, extent is Extent.LINE)
    model_ms = (time.perf_counter() - model_started) * 1000
    text = postprocess(raw, cursor, extent, stops)
    log.info(
        "suggestion %s:%d extent=%s prompt=%s%s tokens, %d pieces, model=%.0f ms "
        "total=%.0f ms -> %d chars",
        cursor.path, cursor.offset, extent.value, "cold " if cold else "", prompt.tokens,
        len(prompt.pieces), model_ms,
        (time.perf_counter() - started) * 1000, len(text),
    )  # fmt: skip
    return Suggestion(text, prompt, model_ms)


async def prompt_for(
    cursor: Cursor,
    endpoint: ModelEndpoint,
    settings: Settings,
    context: PromptContext | None = None,
    hold_context: bool = False,
    cold: bool = False,
) -> Prompt:
    """The prompt for ``cursor`` in the format the model server's model wants (with
    ``cold``, the small one: see ``quill.completion.prompt``). Raises ``NotShared`` for a
    private file or a cursor inside a credential (see ``quill.completion.file_window``).

    A suggestion holds the document's context as it was (a changed context costs the
    whole file window's prefill, seconds on a CPU, while the user waits); a warm-up then
    takes the fresh choice, off the request path (see ``CompletionService``).
    """
    info = await endpoint.info()
    template = template_for(
        settings.prompt_format, info.model_id, info.fim_markers, info.fills_in_middle
    )
    return await build_prompt(
        cursor, template, settings, info, endpoint.tokens, context, hold_context, cold
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

"""Suggestions besides the likeliest: those that begin with the model's next likeliest
first tokens.

The first token is where suggestions part most (``return`` or ``raise``, ``if`` or
``for``); after it, greedy decoding writes the likeliest rest. So each branch is the
prompt with one of those tokens appended, continued greedily: the server reuses the
prompt it has just computed, and a branch costs only its own tokens (a batching server
computes the branches side by side). They come in the order of their first token's
likelihood, which is all that tells them apart before they part.
"""

from __future__ import annotations

import asyncio
import logging

from quill.backends.answers import generate_lines
from quill.backends.base import GenerationOptions, ModelServer, TokenChoice
from quill.backends.errors import ModelServerError
from quill.completion.gate import Extent
from quill.completion.postprocess import postprocess
from quill.completion.templates import Prompt
from quill.cursor import Cursor

log = logging.getLogger(__name__)

FIRST_TOKENS_ASKED = 5
"""The likeliest first tokens asked for, whatever the count of branches wanted: the most
a TGI server gives by default (``--max-top-n-tokens``), and some to spare for those no
suggestion begins with (the end of the text, indentation)."""


async def branch_suggestions(
    client: ModelServer,
    prompt: Prompt,
    options: GenerationOptions,
    cursor: Cursor,
    extent: Extent,
    count: int,
    budget_s: float,
    until: float,
) -> list[str]:
    """Up to ``count`` suggestions that begin with other first tokens than the likeliest,
    likeliest first, post-processed (some may come out empty, or as another's twin).
    Those not done by ``until`` (the event loop's clock) are left out: the likeliest
    suggestion, made already, must not wait for them past the request's deadline.

    Only for a prompt Quill lays out itself: a chat answer has no first token to branch
    at, and a server that lays out fill-in-the-middle (llama.cpp's ``/infill``) takes no
    text after the middle marker. A server that does not report its likeliest tokens
    (Ollama) gives none, as does one that fails: the likeliest suggestion stands alone.
    """
    if count <= 0 or prompt.messages or prompt.fill_in_middle is not None:
        return []
    stops = options.stop
    try:
        async with asyncio.timeout_at(until):
            choices = await client.first_tokens(prompt.text, options, FIRST_TOKENS_ASKED)
    except (ModelServerError, TimeoutError) as error:
        log.debug("no other suggestions: %r", error)
        return []
    # The likeliest first token is the likeliest suggestion's own (greedy decoding).
    others = [choice for choice in choices[1:] if _may_begin(choice, stops)][:count]

    async def branch(choice: TokenChoice) -> str:
        stream = client.generate_stream(prompt.text + choice.text, options)
        rest = await generate_lines(stream, stops, budget_s, extent is Extent.LINE)
        return postprocess(choice.text + rest, cursor, extent, stops)

    branches = [asyncio.create_task(branch(choice)) for choice in others]
    if not branches:
        return []
    try:
        timeout = max(0.0, until - asyncio.get_running_loop().time())
        await asyncio.wait(branches, timeout=timeout)
    finally:
        for task in branches:
            task.cancel()  # those not done: their streams close, their servers stop
        await asyncio.gather(*branches, return_exceptions=True)
    texts = []
    for task in branches:
        if task.cancelled():
            log.debug("a suggestion's branch was not done in time")
        elif isinstance(failure := task.exception(), ModelServerError):
            log.debug("a suggestion's branch failed: %s", failure)
        elif failure is not None:
            raise failure
        else:
            texts.append(task.result())
    return texts


def _may_begin(choice: TokenChoice, stops: tuple[str, ...]) -> bool:
    """Whether a suggestion can begin with ``choice``: not a control token (the end of
    the text) or an empty one, nor one that holds a stop sequence (the end of the answer,
    or a line where only one is wanted)."""
    return (
        not choice.special
        and bool(choice.text.strip(" \t"))
        and not any(stop in choice.text for stop in stops)
    )

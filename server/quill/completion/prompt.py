"""The prompt for a cursor: context and file window, fitted to a budget of real tokens.

The file's own text comes only from ``quill.completion.file_window.shared_window``, already
redacted, so every count sent to the server's ``/tokenize`` is of text that may leave
the process; the cursor's full buffer is read only to rank context, which stays here.

The budget is the smaller of the ``promptTokens`` setting and what the server accepts
(``max_input_tokens``, and ``max_total_tokens`` less the tokens to generate). The
context takes at most half of it; the text after the cursor at most a fifth; the text
before the cursor the rest. The window's start stays anchored in steps (see
``quill.completion.templates``), so fitting it moves the start only by whole steps, and it
is counted in step-aligned chunks: each chunk but the one being typed in is counted once,
ever.

A cold prompt (``cold``: the document's full prompt is not in the model server's cache
yet) is the small one a CPU computes within a suggestion's time: at most
``cold_prompt_tokens``, the text around the cursor and no context. Its start moves in
finer steps (``COLD_STEP_CHARS``), so the few suggestions made with it reuse each other.
"""

from __future__ import annotations

from itertools import pairwise

import attrs

from quill.backends.base import ServerInfo
from quill.backends.tokens import TokenCounter
from quill.completion.file_window import shared_window
from quill.completion.templates import (
    WINDOW_STEP_CHARS,
    Prompt,
    PromptParts,
    Template,
    lay_out,
    piece_text,
)
from quill.context.candidates import ContextPiece, Window, rank_candidates
from quill.context.prompt_context import PromptContext
from quill.context.quoting import PathNames
from quill.cursor import Cursor
from quill.settings import Settings

# Tokens kept free for what the template adds (FIM tokens, the file's path, a chat
# template's role markers), and for the drift between counting chunks and the whole.
_RESERVE_TOKENS = 32
_CHAT_RESERVE_TOKENS = 128
_SUFFIX_SHARE = 5  # the suffix takes at most a fifth of the budget
_CONTEXT_SHARE = 2  # the context at most a half

COLD_STEP_CHARS = 500
"""How a cold prompt's start moves: a step well within its room for the text before the
cursor (some 1,400 characters of code at 512 tokens). With the full prompt's step, fitting
would cut inside the chunk being typed in, at a line that moves on with the typing."""


def prompt_budget(settings: Settings, info: ServerInfo, cold: bool = False) -> int:
    budget = settings.prompt_tokens
    if cold and settings.cold_prompt_tokens:
        budget = min(budget, settings.cold_prompt_tokens)
    if info.max_input_tokens is not None:
        budget = min(budget, info.max_input_tokens)
    if info.max_total_tokens is not None:
        budget = min(budget, info.max_total_tokens - settings.max_new_tokens)
    return max(budget, 1)


async def build_prompt(
    cursor: Cursor,
    template: Template,
    settings: Settings,
    info: ServerInfo,
    counter: TokenCounter,
    context: PromptContext | None = None,
    hold_context: bool = False,
    cold: bool = False,
    ahead: bool = False,
) -> Prompt:
    """Raises ``NotShared`` (before anything is counted) where nothing may be sent.

    ``hold_context``: keep the document's context pieces as they were chosen last (see
    ``quill.context.selection``); the prompt then says whether they are stale. ``cold``:
    the small prompt of a document whose full one the server has not computed yet.
    ``ahead``: the prompt of a place the cursor has not reached (a warm-up past where
    the window moves on): the window start held for the cursor's is left as it is.
    """
    window = shared_window(cursor, settings.max_prefix_chars, settings.max_suffix_chars)
    budget = prompt_budget(settings, info, cold)
    available = budget - (_CHAT_RESERVE_TOKENS if template.chat else _RESERVE_TOKENS)
    suffix = ""
    if template.uses_suffix:
        suffix = await _fit_suffix(window.suffix, counter, available // _SUFFIX_SHARE)
    suffix_tokens = await counter.count(suffix)

    pieces: list[ContextPiece] = []
    context_tokens = 0
    stale = False
    paths = PathNames(context.folders if context else (), cursor.path)
    if context is not None and not cold:
        lines = _window_lines(cursor, window.start, suffix)
        ranked = rank_candidates(cursor, lines, context.sources)

        async def cost(piece: ContextPiece) -> int:
            return await counter.count(
                piece_text(template, cursor.language_id, paths.name(piece.path), piece)
            )

        pieces, context_tokens, stale = await context.selection.choose(
            cursor.path, ranked, available // _CONTEXT_SHARE, cost, hold_context
        )

    limit = available - context_tokens - suffix_tokens
    if cold:
        start, prefix_tokens = await _fit_prefix(window.prefix, counter, limit, 0, COLD_STEP_CHARS)
    else:
        held = context.window_starts.get(cursor.path) if context is not None else None
        not_before = held[1] if held is not None and held[0] == window.start else 0
        start, prefix_tokens = await _fit_prefix(window.prefix, counter, limit, not_before)
        if context is not None and not ahead:
            context.window_starts[cursor.path] = (window.start, start)
    parts = PromptParts(
        path=paths.name(cursor.path),
        language=cursor.language_id,
        prefix=window.prefix[start:],
        suffix=suffix,
        pieces=tuple(pieces),
        piece_paths=tuple(paths.name(piece.path) for piece in pieces),
        repo=paths.repo,
    )
    prompt = lay_out(template, settings.fim_order, parts)
    used = budget - available + context_tokens + prefix_tokens + suffix_tokens
    return attrs.evolve(prompt, tokens=used, budget=budget, small=cold, context_stale=stale)


async def _fit_suffix(suffix: str, counter: TokenCounter, limit: int) -> str:
    """The suffix cut (at line ends) until it takes at most ``limit`` tokens."""
    while suffix and await counter.count(suffix) > limit:
        cut = suffix.rfind("\n", 0, len(suffix) * 2 // 3)
        suffix = suffix[: cut + 1] if cut > 0 else ""
    return suffix


async def _fit_prefix(
    text: str,
    counter: TokenCounter,
    limit: int,
    not_before: int = 0,
    step: int = WINDOW_STEP_CHARS,
) -> tuple[int, int]:
    """The earliest start in ``text`` (the window before the cursor), at or after the
    line that holds ``not_before``, moved on in whole ``step``s from a line start, whose
    rest fits ``limit`` tokens; and its token count.

    ``not_before`` is where the document's last prompt started: the chunk being typed in
    is counted by a bound that over-counts, so without it the start would move on with
    the bound and back once the chunk is counted for real, changing the prompt's start
    (and throwing the server's cache away) twice.
    """
    end = len(text)
    start = _line_start_after(text, not_before - 1, end) if 0 < not_before <= end else 0
    while True:
        tokens = await _count_window(text, start, end, counter, step)
        if tokens <= limit or start >= end:
            return start, tokens
        boundary = (start // step + 1) * step
        if boundary >= end:
            # Even the chunk being typed in is too long: keep its last ``limit`` tokens'
            # worth of characters, from a line start.
            start = _line_start_after(text, max(start, end - limit * 2), end)
            return start, await _count_window(text, start, end, counter, step)
        start = _line_start_after(text, boundary, end)


async def _count_window(text: str, start: int, end: int, counter: TokenCounter, step: int) -> int:
    """Tokens of ``text[start:end]``, counted in chunks that end at multiples of
    ``step``: all but the last are the same from one keystroke to the next, and the last
    is bounded (see ``TokenCounter.count_grown``)."""
    bounds = [start]
    boundary = (start // step + 1) * step
    while boundary < end:
        bounds.append(boundary)
        boundary += step
    bounds.append(end)
    chunks = [text[a:b] for a, b in pairwise(bounds)]
    counts = await counter.count_all(chunks[:-1])
    counts.append(await counter.count_grown(chunks[-1]))  # the chunk being typed in
    return sum(counts) + len(chunks) - 1  # a token may straddle each boundary


def _line_start_after(text: str, offset: int, end: int) -> int:
    newline = text.find("\n", offset, end)
    return newline + 1 if newline != -1 else offset


def _window_lines(cursor: Cursor, start: int, suffix: str) -> Window:
    first = cursor.text.count("\n", 0, start)
    line = first + cursor.text.count("\n", start, cursor.offset)
    return Window(first, line + suffix.count("\n"), line)

"""Workspace definitions for code actions and explanations: a model asked to fix, test or
refactor code writes better code when it can see the helpers that code calls.

The definitions are those of the names the region uses, found as a completion finds
them (through the file's imports first), budgeted in the model's tokens, and added in
front of the action's prompt: as comments for base models, as a fenced section of the
user's message for chat models.
"""

from __future__ import annotations

import attrs

from quill.actions.prompts import ModelCall
from quill.backends.tokens import TokenCounter
from quill.context.candidates import ContextPiece, Window, rank_candidates
from quill.context.prompt_context import PromptContext
from quill.context.quoting import PathNames, as_comments, as_fenced_block
from quill.cursor import Cursor

ACTION_CONTEXT_TOKENS = 512
_MAX_PIECES = 4


async def definitions_for_region(
    path: str,
    language: str,
    text: str,
    start: int,
    end: int,
    context: PromptContext,
    counter: TokenCounter,
) -> list[ContextPiece]:
    """Definitions of the names used in ``text[start:end]``, defined outside it."""
    cursor = Cursor(path, language, text, end)
    window = Window(text.count("\n", 0, start), text.count("\n", 0, end))  # the region
    pieces: list[ContextPiece] = []
    used = 0
    names = PathNames(context.folders, path)
    for piece in rank_candidates(cursor, window, context.sources):
        if piece.kind != "definition" or len(pieces) >= _MAX_PIECES:
            continue
        tokens = await counter.count(as_comments(language, names.name(piece.path), piece))
        if used + tokens <= ACTION_CONTEXT_TOKENS:
            pieces.append(piece)
            used += tokens
    return pieces


def with_definitions(
    call: ModelCall, pieces: list[ContextPiece], language: str, context: PromptContext, path: str
) -> ModelCall:
    """``call`` with the definitions in front of what the model reads."""
    if not pieces:
        return call
    names = PathNames(context.folders, path)
    if call.messages:
        block = "".join(as_fenced_block(language, names.name(p.path), p) for p in pieces)
        intro = f"Definitions from the repository that this code uses:\n\n{block}"
        messages = list(call.messages)
        role, content = messages[-1]
        messages[-1] = (role, intro + content)
        return attrs.evolve(call, messages=tuple(messages))
    block = "".join(as_comments(language, names.name(p.path), p) for p in pieces)
    return attrs.evolve(call, prompt=block + call.prompt)

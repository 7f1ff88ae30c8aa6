"""Which candidates go into the prompt: sticky between keystrokes, within a token budget.

A model server with prefix caching recomputes everything after the first token that
changed, and the context sits at the top of the prompt. Re-ranking on every keystroke
would reshuffle it and throw the whole cache away; so pieces chosen for a document stay,
in the same order, as long as they are still among the candidates, and new pieces are
appended after them. A piece leaves only when it stops being a candidate at all, or
when the budget shrinks below it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

from quill.context.candidates import ContextPiece

_DOCUMENTS_REMEMBERED = 64

PieceCost = Callable[[ContextPiece], Awaitable[int]]


class StickySelection:
    def __init__(self) -> None:
        self._chosen: OrderedDict[str, list[ContextPiece]] = OrderedDict()

    async def choose(
        self, document: str, ranked: list[ContextPiece], budget: int, cost: PieceCost
    ) -> tuple[list[ContextPiece], int]:
        """The pieces for ``document`` in prompt order, and the tokens they take."""
        by_key = {piece.key: piece for piece in ranked}
        previous = self._chosen.get(document, [])
        # A piece that stays keeps its old form while its text is the same: a line added
        # above a definition moves its lines, and the prompt must not change for that.
        kept = [
            old if old.text == by_key[old.key].text else by_key[old.key]
            for old in previous
            if old.key in by_key
        ]
        previous_keys = {old.key for old in previous}
        fresh = [piece for piece in ranked if piece.key not in previous_keys]
        chosen: list[ContextPiece] = []
        used = 0
        for piece in kept:  # in their old order; past the first misfit, the order would break
            tokens = await cost(piece)
            if used + tokens > budget:
                break
            chosen.append(piece)
            used += tokens
        for piece in fresh:  # best first, each where it still fits
            tokens = await cost(piece)
            if used + tokens <= budget:
                chosen.append(piece)
                used += tokens
        self._remember(document, chosen)
        return chosen, used

    def forget(self, document: str) -> None:
        self._chosen.pop(document, None)

    def _remember(self, document: str, pieces: list[ContextPiece]) -> None:
        self._chosen[document] = pieces
        self._chosen.move_to_end(document)
        while len(self._chosen) > _DOCUMENTS_REMEMBERED:
            self._chosen.popitem(last=False)

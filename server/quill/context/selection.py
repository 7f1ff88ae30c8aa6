"""Which candidates go into the prompt: sticky between keystrokes, within a token budget.

A model server with prefix caching recomputes everything after the first token that
changed, and the context sits at the top of the prompt. Re-ranking on every keystroke
would reshuffle it and throw the whole cache away; so pieces chosen for a document stay,
in the same order, as long as they are still among the candidates, and new pieces are
appended after them. A piece leaves only when it stops being a candidate at all, or
when the budget shrinks below it.

Even appending costs the whole file window after the context: on a CPU, seconds of
prefill at the moment a suggestion is wanted. So a request may keep the document's
selection as it is (``hold``) and only say whether a fresh choice would differ; the
caller then makes that choice off the request path, in a warm-up once typing pauses
(``CompletionService``), and the next request finds it computed.
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
        self,
        document: str,
        ranked: list[ContextPiece],
        budget: int,
        cost: PieceCost,
        hold: bool = False,
    ) -> tuple[list[ContextPiece], int, bool]:
        """The pieces for ``document`` in prompt order, the tokens they take, and whether
        a fresh choice would differ from them. With ``hold``, a document that has a
        selection keeps it unchanged (as far as the budget allows)."""
        fresh_choice, fresh_used = await self._fresh(document, ranked, budget, cost)
        previous = self._chosen.get(document)
        if not hold or previous is None:
            self._remember(document, fresh_choice)
            return fresh_choice, fresh_used, False
        held, used = await _fitting(previous, budget, cost)
        return held, used, _identities(held) != _identities(fresh_choice)

    async def _fresh(
        self, document: str, ranked: list[ContextPiece], budget: int, cost: PieceCost
    ) -> tuple[list[ContextPiece], int]:
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
        chosen, used = await _fitting(kept, budget, cost)
        for piece in fresh:  # best first, each where it still fits
            tokens = await cost(piece)
            if used + tokens <= budget:
                chosen.append(piece)
                used += tokens
        return chosen, used

    def forget(self, document: str) -> None:
        self._chosen.pop(document, None)

    def _remember(self, document: str, pieces: list[ContextPiece]) -> None:
        self._chosen[document] = pieces
        self._chosen.move_to_end(document)
        while len(self._chosen) > _DOCUMENTS_REMEMBERED:
            self._chosen.popitem(last=False)


async def _fitting(
    pieces: list[ContextPiece], budget: int, cost: PieceCost
) -> tuple[list[ContextPiece], int]:
    """The first pieces, in their order, that fit ``budget`` (past the first misfit the
    order would break), and their tokens."""
    chosen: list[ContextPiece] = []
    used = 0
    for piece in pieces:
        tokens = await cost(piece)
        if used + tokens > budget:
            break
        chosen.append(piece)
        used += tokens
    return chosen, used


def _identities(pieces: list[ContextPiece]) -> list[tuple[object, str]]:
    return [(piece.key, piece.text) for piece in pieces]

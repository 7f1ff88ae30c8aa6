"""Sticky context: a request may hold the document's pieces as they were, and learn
whether a fresh choice would differ (which a warm-up then makes, off the request path)."""

from __future__ import annotations

from quill.context.candidates import ContextPiece
from quill.context.selection import StickySelection


def _piece(name: str, text: str = "") -> ContextPiece:
    return ContextPiece("definition", f"/w/{name}.py", 0, 3, text or f"def {name}(): ...", "", name)


async def _cost(piece: ContextPiece) -> int:
    return 10


async def test_held_pieces_stay_and_the_change_is_only_reported() -> None:
    selection = StickySelection()
    first, _, stale = await selection.choose("doc", [_piece("a")], 100, _cost, hold=True)
    assert ([p.name for p in first], stale) == (["a"], False)  # nothing held yet: chosen
    held, _, stale = await selection.choose(
        "doc", [_piece("b"), _piece("a")], 100, _cost, hold=True
    )
    assert ([p.name for p in held], stale) == (["a"], True)  # b waits for a fresh choice
    fresh, _, stale = await selection.choose("doc", [_piece("b"), _piece("a")], 100, _cost)
    assert ([p.name for p in fresh], stale) == (["a", "b"], False)  # appended, remembered
    again, _, stale = await selection.choose(
        "doc", [_piece("a"), _piece("b")], 100, _cost, hold=True
    )
    assert ([p.name for p in again], stale) == (["a", "b"], False)


async def test_a_held_piece_whose_text_changed_is_stale() -> None:
    selection = StickySelection()
    await selection.choose("doc", [_piece("a")], 100, _cost)
    held, _, stale = await selection.choose(
        "doc", [_piece("a", "def a(x): ...")], 100, _cost, hold=True
    )
    assert held[0].text == "def a(): ..."  # the prompt stays as the server has it
    assert stale

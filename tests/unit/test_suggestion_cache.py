"""Type-through and speculation: which cursors a suggestion already made still answers."""

from __future__ import annotations

import asyncio

from quill.completion.suggestion_cache import MadeSuggestion, SuggestionCache, Wanted
from quill.cursor import Cursor

BEFORE = "def area(r):\n    "
AFTER = "\n\nprint(area(2))\n"


def _cursor(typed: str, after: str = AFTER) -> Cursor:
    return Cursor("/w/a.py", "python", BEFORE + typed + after, len(BEFORE + typed))


def _made(text: str) -> MadeSuggestion:
    return MadeSuggestion.at(_cursor(""), text)


def test_typing_the_start_of_a_suggestion_leaves_its_rest() -> None:
    made = _made("return 3.14 * r * r")
    assert made.rest_at(_cursor("")) == "return 3.14 * r * r"
    assert made.rest_at(_cursor("ret")) == "urn 3.14 * r * r"
    assert made.rest_at(_cursor("return 3.14 * r * r")) is None  # all typed: accepted
    assert made.rest_at(_cursor("retry")) is None  # typed something else
    assert made.rest_at(_cursor("ret", after="\n")) is None  # the text after changed
    assert made.rest_at(Cursor("/w/a.py", "python", "x" + BEFORE + "ret" + AFTER, 4)) is None


def test_the_accepted_place_is_after_the_suggestion() -> None:
    place = _made("return r").accepted()
    assert place.prefix == BEFORE + "return r"
    assert place.suffix == AFTER
    assert (place.path, place.language_id) == ("/w/a.py", "python")


async def test_the_cache_answers_type_through_and_acceptance_and_forgets_the_rest() -> None:
    asked: list[Cursor] = []

    async def compute(key: str, cursor: Cursor, wanted: Wanted) -> str | None:
        asked.append(cursor)
        return "\n    # the next one"

    cache = SuggestionCache(compute)
    cache.show("doc", _made("return r"))
    assert await cache.answer("doc", _cursor("ret")) == "urn r"
    assert await cache.answer("doc", _cursor("return r")) == "\n    # the next one"
    assert [cursor.prefix for cursor in asked] == [BEFORE + "return r"]  # computed once, ahead
    assert cache.counts.type_through_hits == 1
    assert cache.counts.speculative_hits == 1
    # The speculation became the suggestion shown: typing through it is answered too.
    assert await cache.answer("doc", _cursor("return r\n")) == "    # the next one"
    assert await cache.answer("doc", _cursor("x = 1")) is None  # elsewhere: all dropped
    assert await cache.answer("doc", _cursor("ret")) is None
    cache.close()


async def test_typing_something_else_cancels_the_speculation() -> None:
    started = asyncio.Event()

    async def compute(key: str, cursor: Cursor, wanted: Wanted) -> str | None:
        started.set()
        await asyncio.sleep(60)
        return "never"

    cache = SuggestionCache(compute)
    cache.show("doc", _made("return r"))
    await started.wait()
    [speculation] = cache._speculations.values()
    assert await cache.answer("doc", _cursor("print(")) is None
    await asyncio.sleep(0)
    assert speculation._task.cancelled()


async def test_a_failed_or_empty_speculation_is_a_miss() -> None:
    async def fail(key: str, cursor: Cursor, wanted: Wanted) -> str | None:
        raise RuntimeError("model server gone")

    cache = SuggestionCache(fail)
    cache.show("doc", _made("return r"))
    assert await cache.answer("doc", _cursor("return r")) is None
    assert cache.counts.speculative_hits == 0


async def test_enter_after_an_acceptance_types_through_the_speculation() -> None:
    release = asyncio.Event()

    async def compute(key: str, cursor: Cursor, wanted: Wanted) -> str | None:
        await release.wait()  # still at work when the user presses Enter
        return "\n    return r"

    cache = SuggestionCache(compute)
    cache.show("doc", _made("r = abs(r)"))
    pending = asyncio.ensure_future(cache.answer("doc", _cursor("r = abs(r)\n    ")))
    await asyncio.sleep(0)
    assert not pending.done()  # waits for the speculation: Enter is no divergence
    release.set()
    assert await pending == "return r"
    assert cache.counts.speculative_hits == 1
    # Typing something else after an acceptance only looks at a finished speculation.
    cache.show("doc", _made("r = abs(r)"))
    assert await cache.answer("doc", _cursor("r = abs(r) # why")) is None
    cache.close()


async def test_asking_at_the_accepted_place_hurries_the_speculation() -> None:
    """The user waits for it now: the speculation is told, so it can answer with the lines
    it has instead of reading on to its time budget's end. Other typing does not: it
    does not wait for the speculation."""
    told: list[Wanted] = []  # each speculation's ``wanted``, in the order they began
    release = asyncio.Event()

    async def compute(key: str, cursor: Cursor, wanted: Wanted) -> str | None:
        told.append(wanted)
        await release.wait()
        return "\n    return r"

    cache = SuggestionCache(compute)
    cache.show("doc", _made("r = abs(r)"))
    await asyncio.sleep(0)
    assert not told[0]()  # at work, nobody asking yet
    pending = asyncio.ensure_future(cache.answer("doc", _cursor("r = abs(r)\n    ")))
    await asyncio.sleep(0)
    assert told[0]()  # Enter after the acceptance: asked for
    release.set()
    assert await pending == "return r"

    release.clear()
    cache.show("doc", _made("r = abs(r)"))
    await asyncio.sleep(0)
    assert await cache.answer("doc", _cursor("r = abs(r) # why")) is None
    assert not told[-1]()
    cache.close()

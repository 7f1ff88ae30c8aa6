from __future__ import annotations

import pytest

from quill.cursor import Cursor
from quill.postprocess import Extent, choose_extent, postprocess, stop_sequences


def cursor(text: str) -> Cursor:
    """``text`` with ``|`` marking the cursor."""
    offset = text.index("|")
    return Cursor("t.py", "python", text[:offset] + text[offset + 1 :], offset)


@pytest.mark.parametrize(
    ("text", "extent"),
    [
        ("x = fo|o", None),  # inside a word
        ("x = foo(|, bar)", Extent.LINE),  # code after the cursor
        ("x = |bar", None),  # right before a word
        ("print(|)", Extent.BLOCK),  # only closers after, line opens a bracket
        ("x = compute|", Extent.LINE),  # finishing a statement
        ("def f(x):|", Extent.BLOCK),
        ("def f(x):\n    |", Extent.BLOCK),
    ],
)
def test_extent(text: str, extent: Extent | None) -> None:
    assert choose_extent(cursor(text)) == extent


def _run(raw: str, text: str, extent: Extent) -> str:
    return postprocess(raw, cursor(text), extent, stop_sequences(extent))


def test_a_line_suggestion_stops_at_the_end_of_the_line() -> None:
    assert _run("total + 1\nprint(total)", "x = |", Extent.LINE) == "total + 1"


def test_a_block_stops_where_the_code_leaves_the_block() -> None:
    raw = "return a\n    b = 2\nprint(f(1))"
    text = "def f(a):\n    |"
    assert _run(raw, text, Extent.BLOCK) == "return a\n    b = 2"


def test_a_block_stops_at_a_blank_line() -> None:
    raw = "\n    return 1\n\ndef g():\n    pass"
    assert _run(raw, "def f():|", Extent.BLOCK) == "\n    return 1"


def test_the_rest_of_the_line_is_not_repeated() -> None:
    assert _run("a, b)", "f(|)", Extent.LINE) == "a, b"


def test_following_lines_are_not_repeated() -> None:
    text = "def f(a):\n    |\n    return a\n"
    raw = "a = a * 2\n    return a"
    assert _run(raw, text, Extent.BLOCK) == "a = a * 2"


def test_tabs_in_a_tab_indented_file() -> None:
    text = "def f():\n\tif x:\n\t\tpass\n\t|"
    raw = "for i in x:\n        print(i)"
    assert _run(raw, text, Extent.BLOCK) == "for i in x:\n\t\tprint(i)"


def test_whitespace_only_is_no_suggestion() -> None:
    assert _run("   \n", "x = |", Extent.LINE) == ""

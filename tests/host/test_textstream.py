"""Stop sequences and UTF-8 across token boundaries (no model needed)."""

from __future__ import annotations

from quill_host.textstream import TextAssembler


def test_multibyte_character_split_across_tokens() -> None:
    text = TextAssembler([])
    euro = "€".encode()
    assert text.push(euro[:1]).text == ""
    assert text.push(euro[1:2]).text == ""
    assert text.push(euro[2:] + b"!").text == "€!"


def test_unfinished_character_is_replaced_on_the_final_token() -> None:
    text = TextAssembler([])
    assert text.push("€".encode()[:2], final=True).text == "\ufffd"


def test_stop_sequence_spanning_tokens_is_kept_and_ends_the_text() -> None:
    text = TextAssembler(["\n\n"])
    assert not text.push(b"return x\n").stopped
    piece = text.push(b"\nmore")
    assert piece.stopped
    assert text.text == "return x\n\n"
    assert piece.text == "\n"


def test_earliest_stop_wins_and_later_text_in_the_token_is_dropped() -> None:
    text = TextAssembler(["b", "abc"])
    piece = text.push(b"xabcd")
    assert piece.stopped
    assert text.text == "xab"

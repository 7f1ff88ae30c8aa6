"""FIM markers from a vocabulary, and prompts split on them (the real model's are checked in
test_coder_model.py)."""

from __future__ import annotations

from quill_host.fim_markers import FimMarkers

TEXTS = {1: "<PRE>", 2: "<SUF>", 3: "<MID>", 4: "<PRE_X>"}


def _markers(ids: dict[str, int | None]) -> FimMarkers | None:
    return FimMarkers.from_vocabulary(ids, lambda token: TEXTS.get(token, ""))


def test_a_vocabulary_with_the_three_fim_tokens_has_markers() -> None:
    markers = _markers({"prefix": 1, "suffix": 2, "middle": 3, "repository": None})
    assert markers is not None
    assert markers.as_json() == {"prefix": "<PRE>", "suffix": "<SUF>", "middle": "<MID>"}
    assert list(markers.split("<PRE>a<SUF>b\n<MID>")) == [1, "a", 2, "b\n", 3]
    assert list(markers.split("no markers <eos>")) == ["no markers <eos>"]


def test_without_a_middle_there_is_no_fim() -> None:
    assert _markers({"prefix": 1, "suffix": 2, "middle": None}) is None
    assert _markers({"prefix": 1, "suffix": 2, "middle": 99}) is None  # a token without text


def test_the_longest_marker_wins_where_one_starts_another() -> None:
    markers = _markers({"prefix": 1, "suffix": 2, "middle": 3, "repository": 4})
    assert markers is not None
    assert list(markers.split("<PRE_X>r<PRE>p")) == [4, "r", 1, "p"]

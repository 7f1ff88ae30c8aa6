from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quill.context.recent_edits import (
    MAX_REGION_LINES,
    MERGE_GAP_LINES,
    EditedRegion,
    RecentEdits,
)


def _type_at(edits: RecentEdits, uri: str, line: int) -> None:
    """A change within one line, as typing a character records it."""
    edits.record(uri, line, line, line)


def test_regions_are_most_recent_first_and_exclude_drops_the_visible_window() -> None:
    edits = RecentEdits()
    _type_at(edits, "a", 10)
    _type_at(edits, "b", 5)
    _type_at(edits, "a", 50)
    assert edits.regions() == [
        EditedRegion("a", 50, 50),
        EditedRegion("b", 5, 5),
        EditedRegion("a", 10, 10),
    ]
    assert edits.regions(exclude=("a", 40, 60)) == [
        EditedRegion("b", 5, 5),
        EditedRegion("a", 10, 10),
    ]


def test_nearby_edits_merge_and_move_to_the_front() -> None:
    edits = RecentEdits()
    _type_at(edits, "a", 10)
    _type_at(edits, "b", 0)
    _type_at(edits, "a", 13)  # three lines below: the same piece of work
    assert edits.regions() == [EditedRegion("a", 10, 13), EditedRegion("b", 0, 0)]
    _type_at(edits, "a", 17)  # four lines below: a new region
    assert edits.regions()[:2] == [EditedRegion("a", 17, 17), EditedRegion("a", 10, 13)]


def test_an_edit_bridging_two_regions_merges_all_three() -> None:
    edits = RecentEdits()
    _type_at(edits, "a", 10)
    _type_at(edits, "a", 20)
    edits.record("a", 13, 17, 17)  # lines 13..17 rewritten (reindented, say)
    assert edits.regions() == [EditedRegion("a", 10, 20)]


def test_inserted_lines_above_shift_regions_down() -> None:
    edits = RecentEdits()
    _type_at(edits, "a", 30)
    _type_at(edits, "b", 30)
    edits.record("a", 0, 0, 5)  # five lines inserted at the top of "a"
    assert edits.regions() == [
        EditedRegion("a", 0, 5),
        EditedRegion("b", 30, 30),  # another document: untouched
        EditedRegion("a", 35, 35),
    ]


def test_deleted_lines_above_shift_regions_up_and_collapse_what_they_removed() -> None:
    edits = RecentEdits()
    _type_at(edits, "a", 30)
    _type_at(edits, "a", 12)
    edits.record("a", 10, 20, 10)  # lines 11..20 joined into line 10
    assert edits.regions() == [EditedRegion("a", 10, 10), EditedRegion("a", 20, 20)]


def test_a_region_never_grows_past_the_limit() -> None:
    edits = RecentEdits()
    for line in range(0, 100, 2):
        _type_at(edits, "a", line)
    [region] = edits.regions()
    assert region.end_line == 98
    assert region.end_line - region.start_line + 1 == MAX_REGION_LINES


def test_a_long_paste_keeps_its_last_lines() -> None:
    edits = RecentEdits()
    edits.record("a", 10, 10, 110)
    assert edits.regions() == [EditedRegion("a", 111 - MAX_REGION_LINES, 110)]


def test_oldest_regions_fall_off_and_forget_drops_a_document() -> None:
    edits = RecentEdits(max_regions=3)
    for uri in "abcd":
        _type_at(edits, uri, 0)
    assert [region.uri for region in edits.regions()] == ["d", "c", "b"]
    edits.forget("c")
    assert [region.uri for region in edits.regions()] == ["d", "b"]


def test_an_impossible_change_is_refused() -> None:
    with pytest.raises(ValueError, match="bad change"):
        RecentEdits().record("a", 5, 4, 5)


_URIS = ("a", "b", "c")


@st.composite
def _edit_sessions(draw: st.DrawFn) -> list[tuple[str, float, float, int] | str]:
    """Edits as (uri, where, how much of the rest to replace, lines inserted) and closes."""
    edit = st.tuples(
        st.sampled_from(_URIS),
        st.floats(0, 1),
        st.floats(0, 1) | st.just(0.0),
        st.integers(0, 3) | st.integers(0, 60),
    )
    return draw(st.lists(edit | st.sampled_from(_URIS), max_size=60))


@given(_edit_sessions(), st.integers(1, 8))
def test_regions_stay_inside_their_documents_most_recent_first(
    session: list[tuple[str, float, float, int] | str], max_regions: int
) -> None:
    edits = RecentEdits(max_regions)
    line_counts = dict.fromkeys(_URIS, 50)
    last_edited: list[str] = []  # uris by their latest edit, most recent first
    for step in session:
        if isinstance(step, str):  # the document closed; it reopens with 50 lines
            edits.forget(step)
            line_counts[step] = 50
            last_edited = [uri for uri in last_edited if uri != step]
            continue
        uri, where, span, inserted = step
        count = line_counts[uri]
        start = round(where * (count - 1))
        old_end = start + round(span * (count - 1 - start))
        edits.record(uri, start, old_end, start + inserted)
        line_counts[uri] = count - (old_end - start) + inserted
        last_edited = [uri, *(other for other in last_edited if other != uri)]

        regions = edits.regions()
        assert len(regions) <= max_regions
        assert regions[0].uri == uri
        assert regions[0].start_line <= start + inserted <= regions[0].end_line
        for index, region in enumerate(regions):
            assert 0 <= region.start_line <= region.end_line < line_counts[region.uri]
            assert region.end_line - region.start_line < MAX_REGION_LINES
            for other in regions[index + 1 :]:  # merged, so never near one another
                assert not region.overlaps(
                    other.uri, other.start_line - MERGE_GAP_LINES, other.end_line + MERGE_GAP_LINES
                )
        first_seen = list(dict.fromkeys(region.uri for region in regions))
        assert first_seen == [other for other in last_edited if other in first_seen]

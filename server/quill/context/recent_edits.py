"""Where the user edited recently, across documents, so a prompt can show code just touched.

What someone typed a minute ago is the best predictor of what they type next (a renamed
parameter, a new field, the function they are about to call), yet it may sit far from the
cursor or in another file. This module only keeps line numbers: each ``didChange`` is recorded,
nearby edits of one document merge into a region, later edits move the regions below them,
and the caller reads the regions' text from its document store when it builds a prompt.
"""

from __future__ import annotations

import attrs

MERGE_GAP_LINES = 3
"""Edits at most this many lines apart (two blank lines between) are one piece of work."""

MAX_REGION_LINES = 40
"""A region longer than this would crowd the prompt; the part around the newest edit stays."""


@attrs.frozen
class EditedRegion:
    """Lines ``start_line..end_line`` (0-based, inclusive) of the document's current text."""

    uri: str
    start_line: int
    end_line: int

    def overlaps(self, uri: str, start_line: int, end_line: int) -> bool:
        return self.uri == uri and self.start_line <= end_line and start_line <= self.end_line


class RecentEdits:
    """The last ``max_regions`` edited regions, most recent first."""

    def __init__(self, max_regions: int = 8) -> None:
        self._max_regions = max_regions
        self._regions: list[EditedRegion] = []  # most recent first

    def record(self, uri: str, start_line: int, old_end_line: int, new_end_line: int) -> None:
        """Notes one incremental change of ``textDocument/didChange``, in the order received.

        The change replaced lines ``start_line..old_end_line`` of the old text by lines
        ``start_line..new_end_line`` of the new text: for an LSP change, ``old_end_line`` is
        the range's end line (clamped to the old text's last line) and ``new_end_line`` is
        ``start_line`` plus the number of line ends in the inserted text. Regions below the
        change move with it, and regions inside lines it deleted collapse onto it.

        A full-text change (``TextDocumentContentChangeWholeDocument``) says nothing about
        where the user typed: record it as the whole document (``0``, old last line, new last
        line), which keeps the last ``MAX_REGION_LINES`` lines, or ``forget`` the document
        and skip it; never skip it alone, or the document's regions point at stale lines.
        """
        if not 0 <= start_line <= min(old_end_line, new_end_line):
            raise ValueError(
                f"bad change of {uri}: lines {start_line}..{old_end_line} → ..{new_end_line}"
            )
        moved = [
            _after_change(region, start_line, old_end_line, new_end_line)
            if region.uri == uri
            else region
            for region in self._regions
        ]
        edit = EditedRegion(uri, start_line, new_end_line)
        merged, others = _merge_nearby(edit, moved)
        self._regions = [_clip_around(merged, edit), *others][: self._max_regions]

    def forget(self, uri: str) -> None:
        """Drops a closed document's regions."""
        self._regions = [region for region in self._regions if region.uri != uri]

    def regions(self, exclude: tuple[str, int, int] | None = None) -> list[EditedRegion]:
        """The regions, most recent first, without those overlapping ``exclude``.

        ``exclude`` is ``(uri, start_line, end_line)`` of the current document's lines that
        the prompt already shows, so the same code is not shown twice.
        """
        if exclude is None:
            return list(self._regions)
        return [region for region in self._regions if not region.overlaps(*exclude)]


def _after_change(
    region: EditedRegion, start_line: int, old_end_line: int, new_end_line: int
) -> EditedRegion:
    """The region's lines in the new text of its document."""

    def moved(line: int) -> int:
        if line <= start_line:
            return line
        if line <= old_end_line:
            return min(line, new_end_line)  # a line the change replaced: deleted lines collapse
        return line + new_end_line - old_end_line

    return attrs.evolve(
        region, start_line=moved(region.start_line), end_line=moved(region.end_line)
    )


def _merge_nearby(
    edit: EditedRegion, regions: list[EditedRegion]
) -> tuple[EditedRegion, list[EditedRegion]]:
    """The edit joined with every region of its document within ``MERGE_GAP_LINES`` of it
    (repeatedly, as the joined region grows), and the regions left apart, in order."""
    merged, others = edit, regions
    while True:
        near = [region for region in others if _near(region, merged)]
        if not near:
            return merged, others
        merged = attrs.evolve(
            merged,
            start_line=min(merged.start_line, *(region.start_line for region in near)),
            end_line=max(merged.end_line, *(region.end_line for region in near)),
        )
        others = [region for region in others if region not in near]


def _near(region: EditedRegion, other: EditedRegion) -> bool:
    return region.overlaps(
        other.uri, other.start_line - MERGE_GAP_LINES, other.end_line + MERGE_GAP_LINES
    )


def _clip_around(region: EditedRegion, edit: EditedRegion) -> EditedRegion:
    """At most ``MAX_REGION_LINES`` lines of ``region``, centred on ``edit`` (which it
    contains); of an edit longer than that, its last lines, where the cursor ended up."""
    if region.end_line - region.start_line + 1 <= MAX_REGION_LINES:
        return region
    if edit.end_line - edit.start_line + 1 >= MAX_REGION_LINES:
        return attrs.evolve(
            region, start_line=edit.end_line - MAX_REGION_LINES + 1, end_line=edit.end_line
        )
    spare = MAX_REGION_LINES - (edit.end_line - edit.start_line + 1)
    start = max(region.start_line, edit.start_line - spare // 2)
    end = min(region.end_line, start + MAX_REGION_LINES - 1)
    start = end - MAX_REGION_LINES + 1
    return attrs.evolve(region, start_line=start, end_line=end)

"""From an old and a new text of a region to the fewest whole-line replacements.

An edit that replaces a whole function to change one line moves the user's cursor,
breaks their undo history and conflicts with anything else touching the file; so the
model's new region is diffed against the old one and only changed line ranges are sent.
"""

from __future__ import annotations

import difflib

import attrs


@attrs.frozen
class Replacement:
    """Replace ``old[start:end]`` with ``text`` (string offsets into the old text)."""

    start: int
    end: int
    text: str


def minimal_replacements(old: str, new: str, base: int = 0) -> list[Replacement]:
    """The changed line ranges between ``old`` and ``new``, as offsets shifted by ``base``
    (the region's offset in its document). Applying them in any order that keeps offsets
    valid (last first, or simultaneously as LSP does) turns ``old`` into ``new``."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    replacements = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        replacements.append(
            Replacement(base + starts[i1], base + starts[i2], "".join(new_lines[j1:j2]))
        )
    return replacements


def apply_replacements(text: str, replacements: list[Replacement]) -> str:
    """``text`` with the replacements applied (they must not overlap)."""
    for replacement in sorted(replacements, key=lambda r: r.start, reverse=True):
        text = text[: replacement.start] + replacement.text + text[replacement.end :]
    return text

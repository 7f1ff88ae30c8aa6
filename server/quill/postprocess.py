"""Turn a model's raw continuation into text that fits at the cursor.

Small models ramble: they run past the end of the block, repeat the code that already
follows the cursor, and indent with their own habits. Each rule here fixes one of those,
and each is a pure function of the raw text and the cursor, so each can be tested alone.
"""

from __future__ import annotations

from enum import Enum

from quill.cursor import Cursor

_CLOSERS = frozenset(")]}>\"'`;,: \t")
_BLOCK_OPENERS = (":", "{", "(", "[")


class Extent(Enum):
    """How much a suggestion may cover."""

    LINE = "line"  # finish the current line
    BLOCK = "block"  # several lines, up to the end of the block


def choose_extent(cursor: Cursor) -> Extent | None:
    """Decide what to suggest, or that nothing should be (``None``).

    Inside a word there is nothing useful to add; with code after the cursor only the
    line can be finished; at the end of a line or on an empty one, a block.
    """
    after = cursor.line_suffix
    if after[:1].isalnum() or after[:1] == "_":
        return None
    if after.strip() and not set(after) <= _CLOSERS:
        return Extent.LINE
    before = cursor.line_prefix.rstrip()
    if before and not before.endswith(_BLOCK_OPENERS):
        return Extent.LINE
    return Extent.BLOCK


def stop_sequences(extent: Extent) -> tuple[str, ...]:
    """Where the model can stop: the end of the line, or the first blank line."""
    return ("\n",) if extent is Extent.LINE else ("\n\n",)


def postprocess(raw: str, cursor: Cursor, extent: Extent, stops: tuple[str, ...]) -> str:
    text = cut_at_stops(raw, stops)
    if extent is Extent.LINE:
        text = text.split("\n", 1)[0]
    else:
        text = cut_at_block_end(text, cursor)
        text = match_indentation(text, cursor.indent_unit)
    text = drop_repeated_suffix(text, cursor)
    return text if text.strip() else ""


def cut_at_stops(text: str, stops: tuple[str, ...]) -> str:
    """Cut at the first stop sequence (a server may return it, or ignore stops)."""
    cut = len(text)
    for stop in stops:
        found = text.find(stop)
        if found != -1:
            cut = min(cut, found)
    return text[:cut].replace("\r\n", "\n")


def _indent_width(line: str, tab_width: int = 4) -> int:
    stripped = line.lstrip(" \t")
    return len(line[: len(line) - len(stripped)].expandtabs(tab_width))


def cut_at_block_end(text: str, cursor: Cursor) -> str:
    """Keep lines while they stay in the cursor's block: the first line that is blank or
    indented less than the cursor's line ends the suggestion."""
    base = _indent_width(cursor.line_prefix)
    lines = text.split("\n")
    kept = [lines[0]]
    for line in lines[1:]:
        if not line.strip() or _indent_width(line) < base:
            break
        kept.append(line)
    return "\n".join(kept).rstrip()


def match_indentation(text: str, indent_unit: str) -> str:
    """Re-indent with tabs in a file indented with tabs (models mostly emit spaces)."""
    if indent_unit != "\t" or "\n" not in text:
        return text
    first, *rest = text.split("\n")
    fixed = []
    for line in rest:
        body = line.lstrip(" \t")
        width = _indent_width(line)
        fixed.append("\t" * (width // 4) + " " * (width % 4) + body)
    return "\n".join([first, *fixed])


def drop_repeated_suffix(text: str, cursor: Cursor) -> str:
    """Remove what the document already has after the cursor.

    On the cursor's line: a tail of the suggestion that equals the rest of the line
    (``foo(x)`` before an existing ``)``). Over lines: trailing lines of the suggestion
    that equal the lines that follow the cursor.
    """
    rest_of_line = cursor.line_suffix.strip()
    if rest_of_line and text.rstrip().endswith(rest_of_line):
        text = text.rstrip()[: -len(rest_of_line)]
    if "\n" not in text:
        return text
    following = [line.strip() for line in cursor.suffix.split("\n")[1:] if line.strip()]
    lines = text.split("\n")
    for count in range(min(len(lines) - 1, len(following)), 0, -1):
        if [line.strip() for line in lines[-count:]] == following[:count]:
            return "\n".join(lines[:-count]).rstrip()
    return text

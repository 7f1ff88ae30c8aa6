"""The gate: whether a suggestion is worth asking for at the cursor, and how much it may
cover. The first stage of a completion, before any prompt is built; what it decides (the
extent) also tells post-processing where to cut the answer.
"""

from __future__ import annotations

from enum import Enum

from quill.completion import syntax
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
    line can be finished; at the end of a line or on an empty one, a block. Where those
    text rules say BLOCK and the language has a grammar, the tree may say the line is
    not done (:func:`_line_by_syntax`); the parse is shared with ``quill.completion.postprocess``.
    """
    after = cursor.line_suffix
    if after[:1].isalnum() or after[:1] == "_":
        return None
    extent = _extent_by_text(cursor)
    if extent is Extent.BLOCK and _line_by_syntax(cursor):
        return Extent.LINE
    return extent


def _extent_by_text(cursor: Cursor) -> Extent:
    """The rules for any language: a blank line or one ending with an opener is a block
    (an opener last on a line starts a list or body that spans lines)."""
    after = cursor.line_suffix
    if after.strip() and not set(after) <= _CLOSERS:
        return Extent.LINE
    before = cursor.line_prefix.rstrip()
    if before and not before.endswith(_BLOCK_OPENERS):
        return Extent.LINE
    return Extent.BLOCK


def _line_by_syntax(cursor: Cursor) -> bool:
    """Whether the code says only the line should be finished though the text rules said
    BLOCK: in a string or comment (prose, where ``{`` or ``:`` open nothing), after an
    operator on an earlier line (``x = a +`` then a blank line), or after a ``:`` that asks
    for a value rather than opening a block (``{"a":``, ``lambda x:``)."""
    region = syntax.region_at(cursor)
    if region is None:
        return False
    lexicon = syntax.lexicon_for(region.language)
    if (
        syntax.ends_in_string_or_comment(cursor.line_prefix, lexicon)
        or syntax.in_string_or_comment(region)
        or syntax.follows_operator(region)
    ):
        return True
    prefix = cursor.line_prefix
    return prefix.rstrip().endswith(":") and not syntax.colon_opens_block(region, prefix)


def stop_sequences(extent: Extent) -> tuple[str, ...]:
    """Where the model can stop: the end of the line, or the first blank line."""
    return ("\n",) if extent is Extent.LINE else ("\n\n",)

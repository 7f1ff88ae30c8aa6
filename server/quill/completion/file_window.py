"""The part of the current file that a completion may send: the text before the cursor
from the window's anchored start, and the text after it, both already redacted.

This is the only place a completion reads the buffer for sending. Token counts
(``/tokenize``), prompts and chat messages are all made from this window, so a
credential is cut out before any route could carry it, and a secret or git-ignored file
never gets a window at all.
"""

from __future__ import annotations

import attrs

from quill.completion.templates import anchored_window_start, suffix_window
from quill.cursor import Cursor
from quill.redaction import NotShared, is_private_path, redact_around


@attrs.frozen
class FileWindow:
    start: int  # where the prefix starts in the buffer (for line numbers)
    prefix: str  # redacted, from ``start`` to the cursor
    suffix: str  # redacted, from the cursor to the window's end (a line end)


WINDOW_AHEAD_CHARS = 400
"""How close the cursor gets to where the window's start moves on (every
``WINDOW_STEP_CHARS`` typed past ``maxPrefixChars``) before the prompt past that place is
warmed: a few lines, typed in seconds, where the moved window costs seconds to compute."""


def window_ahead(cursor: Cursor, max_prefix_chars: int) -> Cursor | None:
    """A place a few lines on whose window starts later than the cursor's, if there is
    one in the text: its prompt, warmed, is the moved window, computed before the
    cursor gets there (measured: 2.3 s at a line start that moved it, cold)."""
    ahead = min(cursor.offset + WINDOW_AHEAD_CHARS, len(cursor.text))
    start = anchored_window_start(cursor.text, cursor.offset, max_prefix_chars)
    if anchored_window_start(cursor.text, ahead, max_prefix_chars) == start:
        return None
    return Cursor(cursor.path, cursor.language_id, cursor.text, ahead)


def shared_window(cursor: Cursor, max_prefix_chars: int, max_suffix_chars: int) -> FileWindow:
    """The window around ``cursor`` as it may leave the process.

    Raises ``NotShared`` for a private file and for a cursor inside a credential.
    """
    if is_private_path(cursor.path):
        raise NotShared(f"{cursor.path} is a secret or git-ignored file")
    start = anchored_window_start(cursor.text, cursor.offset, max_prefix_chars)
    end = cursor.offset + len(suffix_window(cursor, max_suffix_chars))
    prefix, suffix = redact_around(cursor.text, start, cursor.offset, end)
    return FileWindow(start, prefix, suffix)

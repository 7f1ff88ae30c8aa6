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

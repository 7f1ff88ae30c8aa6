"""What the pipeline knows of the place being completed: a snapshot, not a live document.

Requests work on this immutable snapshot, so an edit that arrives while the model is
generating cannot change the text a suggestion is being fitted to.
"""

from __future__ import annotations

from functools import cached_property

import attrs

_INDENT_SAMPLE_CHARS = 20_000


@attrs.frozen
class Cursor:
    path: str  # for messages and prompts; may be a URI for unsaved buffers
    language_id: str
    text: str
    offset: int  # string index of the cursor in ``text``

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset :]

    @cached_property
    def line_prefix(self) -> str:
        """Text between the start of the cursor's line and the cursor."""
        start = max(self.text.rfind("\n", 0, self.offset), self.text.rfind("\r", 0, self.offset))
        return self.text[start + 1 : self.offset]

    @cached_property
    def line_suffix(self) -> str:
        """Text between the cursor and the end of its line."""
        end = len(self.text)
        for terminator in ("\r", "\n"):
            found = self.text.find(terminator, self.offset)
            if found != -1:
                end = min(end, found)
        return self.text[self.offset : end]

    @cached_property
    def indent_unit(self) -> str:
        """The file's indentation unit: a tab, or the most common step of spaces.

        Read from the text around the cursor only: this runs on every keystroke, and a
        huge file indents the same way throughout.
        """
        tabs = spaces = 0
        steps: dict[int, int] = {}
        previous = 0
        nearby = self.text[max(0, self.offset - _INDENT_SAMPLE_CHARS) : self.offset + 2000]
        for line in nearby.splitlines():
            if not line.strip():
                continue
            if line.startswith("\t"):
                tabs += 1
                continue
            width = len(line) - len(line.lstrip(" "))
            if width:
                spaces += 1
            if width > previous:
                steps[width - previous] = steps.get(width - previous, 0) + 1
            previous = width
        if tabs > spaces:
            return "\t"
        return " " * max(steps, key=lambda step: steps[step]) if steps else "    "

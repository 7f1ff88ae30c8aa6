"""What a prompt may draw on beyond the current file, as one object the workspace hands
to completions and code actions alike."""

from __future__ import annotations

import attrs

from quill.context.candidates import ContextSources
from quill.context.selection import StickySelection


@attrs.frozen
class PromptContext:
    """The sources to rank, the pieces each document holds, and the folders that name paths."""

    sources: ContextSources
    selection: StickySelection = attrs.field(factory=StickySelection)
    folders: tuple[str, ...] = ()  # the workspace folders, for the paths prompts show
    # Per document: the anchored window start (in the buffer) and how far into that window
    # the prompt last started, which later prompts never start before (see
    # ``quill.completion.prompt``).
    window_starts: dict[str, tuple[int, int]] = attrs.field(factory=dict)

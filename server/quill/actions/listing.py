"""Which code actions apply where: listed at once, from one parse, with no model call (the
model writes an action's edit only when it is chosen: ``quill.actions.resolve``)."""

from __future__ import annotations

import attrs

from quill.context import syntax

REFACTOR_PRESETS = {
    "simplify": "simplified, with the same behaviour",
    "typeHints": "with complete type hints added, behaviour unchanged",
    "extractFunction": "with the repeated or self-contained part extracted into a helper function",
}


@attrs.frozen
class ActionSpec:
    """One listed action; ``start``/``end`` are the region's string offsets (whole lines)."""

    kind: str  # fix | docstring | tests | refactor | custom
    title: str
    start: int
    end: int
    instruction: str = ""
    name: str = ""


def line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` widened to whole lines (line ends included)."""
    first = text.rfind("\n", 0, start) + 1
    if end > start and text[end - 1 : end] == "\n":
        return first, end
    last = text.find("\n", end)
    return first, len(text) if last < 0 else last + 1


def list_actions(
    text: str,
    language: str | None,
    start: int,
    end: int,
    diagnostics: list[tuple[int, int, str]],
) -> list[ActionSpec]:
    """The actions for a selection ``[start, end)`` and the diagnostics there
    (``(start, end, message)``); pure and fast (one parse)."""
    tree = syntax.parse(text, language) if language else None
    definition = tree.definition_at(start) if tree else None
    actions: list[ActionSpec] = []
    for d_start, d_end, message in diagnostics:
        around = tree.definition_at(d_start) if tree else None
        if around is not None and around.end - around.start < 4000:
            region = line_bounds(text, around.line_start, around.end)
        else:
            region = line_bounds(text, d_start, d_end)
        title = f"Quill: Fix '{message.splitlines()[0][:60]}'"
        actions.append(ActionSpec("fix", title, *region, instruction=f"with this fixed: {message}"))
    if definition is not None:
        region = line_bounds(text, definition.line_start, definition.end)
        if definition.docstring is None and language == "python":
            actions.append(
                ActionSpec("docstring", "Quill: Add docstring", *region, name=definition.name)
            )
        if definition.kind == "function" and language == "python":
            title = f"Quill: Write tests for {definition.name}"
            actions.append(ActionSpec("tests", title, *region, name=definition.name))
    if end > start:
        region = line_bounds(text, start, end)
        for preset, instruction in REFACTOR_PRESETS.items():
            title = f"Quill: Refactor selection ({preset})"
            actions.append(ActionSpec("refactor", title, *region, instruction=instruction))
    custom: tuple[int, int] | None = None
    if end > start:
        custom = line_bounds(text, start, end)
    elif definition is not None:
        custom = line_bounds(text, definition.line_start, definition.end)
    if custom is not None:
        actions.append(ActionSpec("custom", "Quill: Custom instruction…", *custom))
    return actions

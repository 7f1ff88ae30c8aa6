"""Code-action prompts see the workspace definitions their region uses."""

from __future__ import annotations

from pathlib import Path

from quill.actions.context import definitions_for_region, with_definitions
from quill.actions.prompts import BasePrompter, InstructPrompter
from quill.backends.tokens import TokenCounter
from quill.context.candidates import ContextSources
from quill.context.index import WorkspaceIndex
from quill.context.prompt_context import PromptContext

HELPERS = '''def clamp(value: float, low: float, high: float) -> float:
    """Limit value to [low, high]."""
    return max(low, min(high, value))


def unused_helper() -> None:
    pass
'''
MAIN = """from util.numbers import clamp


def brightness(pixel):
    level = sum(pixel) / 3
    return clamp(level / 255, 0.0, 1.0)
"""


async def _count(text: str) -> int:
    return len(text) // 3 + 1


async def test_the_region_gets_the_definitions_it_calls(tmp_path: Path) -> None:
    (tmp_path / "util").mkdir()
    (tmp_path / "util" / "numbers.py").write_text(HELPERS)
    (tmp_path / "main.py").write_text(MAIN)
    index = WorkspaceIndex()
    index.scan([tmp_path])
    context = PromptContext(ContextSources(index=index), folders=(str(tmp_path),))
    path = str(tmp_path / "main.py")
    start = MAIN.index("def brightness")
    pieces = await definitions_for_region(
        path, "python", MAIN, start, len(MAIN), context, TokenCounter(_count)
    )
    assert [piece.path for piece in pieces] == [str(tmp_path / "util" / "numbers.py")]
    assert "Limit value" in pieces[0].text
    assert "unused_helper" not in pieces[0].text

    region = MAIN[start:]
    base = with_definitions(
        BasePrompter().rewrite(region, "simplified", "python"), pieces, "python", context, path
    )
    assert base.prompt.startswith("# util/numbers.py:1-3\n# def clamp(")
    assert base.prompt.endswith("```python\n")  # the action's own prompt is unchanged after it
    chat = with_definitions(
        InstructPrompter().rewrite(region, "simplified", "python"), pieces, "python", context, path
    )
    role, content = chat.messages[-1]
    assert role == "user"
    assert content.startswith("Definitions from the repository")
    assert "util/numbers.py:1-3\n```python\ndef clamp(" in content
    assert content.endswith(region + "```")


async def test_definitions_inside_the_region_are_not_repeated(tmp_path: Path) -> None:
    text = HELPERS + "\n\ndef use():\n    return clamp(2, 0, 1)\n"
    (tmp_path / "one.py").write_text(text)
    index = WorkspaceIndex()
    index.scan([tmp_path])
    context = PromptContext(ContextSources(index=index), folders=(str(tmp_path),))
    pieces = await definitions_for_region(
        str(tmp_path / "one.py"), "python", text, 0, len(text), context, TokenCounter(_count)
    )
    assert pieces == []

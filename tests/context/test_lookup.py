"""Finding a definition for a hover: one extractor, so the same function shows the same
signature and doc comment in the document that defines it, through the index from a file
that imports it, from another open document, and in ``syntax.Tree``'s definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from quill.context import syntax
from quill.context.index import WorkspaceIndex
from quill.context.lookup import FoundDefinition, OpenDocument, definition_at

# (language, defining file, its text, importing file, its text, the doc comment)
CASES = [
    (
        "python",
        "geometry.py",
        'import math\n\n\n@staticmethod\ndef area(r: float) -> float:\n    """The area of a\n'
        '    circle of radius ``r``."""\n    return math.pi * r * r\n',
        "main.py",
        "from geometry import area\n\nprint(area(2.0))\n",
        "The area of a\ncircle of radius ``r``.",
    ),
    (
        "javascript",
        "util.js",
        "/**\n * Adds two numbers.\n * @param {number} a\n */\nexport function add(a, b) {\n"
        "  return a + b;\n}\n",
        "main.js",
        "import { add } from './util.js';\n\nconsole.log(add(1, 2));\n",
        "Adds two numbers.\n@param {number} a",
    ),
    (
        "rust",
        "shapes.rs",
        "/// The area of a square.\n/// Never negative.\n#[inline]\n"
        "pub fn square(side: f64) -> f64 {\n    side * side\n}\n",
        "main.rs",
        "use crate::shapes::square;\n\nfn main() {\n    square(2.0);\n}\n",
        "The area of a square.\nNever negative.",
    ),
]


def _document(path: Path, language: str) -> OpenDocument:
    return OpenDocument(path.as_uri(), str(path), language, path.read_text())


def _at(document: OpenDocument, name: str, occurrence: int = 0) -> int:
    """The offset of the ``occurrence``-th ``name`` in the document's text."""
    offset = -1
    for _ in range(occurrence + 1):
        offset = document.text.index(name, offset + 1)
    return offset


@pytest.mark.parametrize(("language", "defining", "text", "importing", "use", "doc"), CASES)
def test_a_definition_shows_the_same_wherever_it_is_found(
    tmp_path: Path, language: str, defining: str, text: str, importing: str, use: str, doc: str
) -> None:
    (tmp_path / defining).write_text(text)
    (tmp_path / importing).write_text(use)
    index = WorkspaceIndex()
    index.scan([tmp_path])
    here = _document(tmp_path / defining, language)
    there = _document(tmp_path / importing, language)
    name = {"python": "area", "javascript": "add", "rust": "square"}[language]

    in_document = definition_at(here, here.text.index(f"{name}("), index)  # its definition
    call = there.text.rindex(f"{name}(")
    through_index = definition_at(there, call, index)
    from_open_document = definition_at(there, call, None, [here])
    assert in_document is not None
    assert through_index is not None
    assert from_open_document is not None

    def shown(found: FoundDefinition) -> tuple[str, str, int, str, str | None]:
        return (found.uri, found.language, found.line, found.signature, found.docstring)

    assert shown(in_document) == shown(through_index) == shown(from_open_document)
    assert in_document.docstring == doc
    assert in_document.uri == (tmp_path / defining).as_uri()
    [definition] = [d for d in syntax.parse(text, language).definitions() if d.name == name]
    assert definition.docstring == doc
    assert definition.signature == in_document.signature
    # The document's text is at hand: an explanation reads the definition as written.
    assert in_document.source.endswith(text.rstrip("\n").rsplit("\n", 1)[-1])


def test_a_local_definition_is_found_in_its_document_but_not_in_the_index(
    tmp_path: Path,
) -> None:
    text = (
        "def outer():\n"
        "    def helper(x):\n"
        '        """Doubles x."""\n'
        "        return 2 * x\n"
        "    return helper(1)\n"
    )
    (tmp_path / "nest.py").write_text(text)
    index = WorkspaceIndex()
    index.scan([tmp_path])
    here = _document(tmp_path / "nest.py", "python")
    found = definition_at(here, _at(here, "helper", occurrence=1), index)
    assert found is not None
    assert (found.line, found.signature, found.docstring) == (2, "def helper(x):", "Doubles x.")
    assert found.source == '    def helper(x):\n        """Doubles x."""\n        return 2 * x'
    assert not index.lookup("helper")
    definitions = {d.name: d for d in syntax.parse(text, "python").definitions()}
    assert set(definitions) == {"outer", "helper"}


def test_an_ambiguous_name_is_not_guessed_but_an_imported_one_is_preferred(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.py").write_text('def run():\n    """A\'s."""\n')
    (tmp_path / "b.py").write_text('def run():\n    """B\'s."""\n')
    (tmp_path / "guess.py").write_text("run()\n")
    (tmp_path / "uses_b.py").write_text("from b import run\n\nrun()\n")
    index = WorkspaceIndex()
    index.scan([tmp_path])
    guess = _document(tmp_path / "guess.py", "python")
    assert definition_at(guess, 0, index) is None
    uses_b = _document(tmp_path / "uses_b.py", "python")
    found = definition_at(uses_b, _at(uses_b, "run", occurrence=1), index)
    assert found is not None
    assert (found.path, found.docstring) == (str(tmp_path / "b.py"), "B's.")
    assert index.imported_files(str(tmp_path / "uses_b.py")) == {str(tmp_path / "b.py")}
    assert [e.path for e in index.imported_names(str(tmp_path / "uses_b.py"))["run"]] == [
        str(tmp_path / "b.py")
    ]


def test_nothing_is_found_off_an_identifier_or_in_an_unknown_language() -> None:
    here = OpenDocument("untitled:1", "untitled:1", "python", "x = 1 + 2\n")
    assert definition_at(here, len("x = 1 +"), None) is None
    notes = OpenDocument("untitled:2", "untitled:2", "markdown", "# area\n")
    assert definition_at(notes, 3, None) is None

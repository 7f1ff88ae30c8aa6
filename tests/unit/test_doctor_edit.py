"""The edit `quill doctor` times models on: lines taken out of a file and typed back."""

from __future__ import annotations

from pathlib import Path

import pytest

from quill.doctor.timing import RetypedEdit

SOURCE = '''\
import os


def walk(root):
    """Every file under root."""
    # not a line to retype: a comment
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            yield path
    return None
'''


def test_lines_are_typed_back_at_their_line_starts(tmp_path: Path) -> None:
    path = tmp_path / "walk.py"
    path.write_text(SOURCE)
    edit = RetypedEdit.from_file(path, lines=3)
    assert edit.lines == (
        "    for folder, _, names in os.walk(root):\n",
        "        for name in names:\n",
        "            path = os.path.join(folder, name)\n",
    )
    after = SOURCE[SOURCE.index("            yield") :]
    typed = ""
    for cursor, line in zip(edit.line_starts(), edit.lines, strict=True):
        indent = line[: len(line) - len(line.lstrip())]
        assert cursor.prefix.endswith("\n" + typed + indent)
        assert cursor.suffix == after
        typed += line
    # Typed back in full, the file is as it was.
    assert edit.text[: edit.offset] + typed + edit.text[edit.offset :] == SOURCE


def test_a_file_without_such_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flat.py"
    path.write_text("x = 1\ny = 2\n")
    with pytest.raises(ValueError, match="no 4 lines of indented code"):
        RetypedEdit.from_file(path)


def test_the_standard_edit_comes_from_the_standard_library() -> None:
    edit = RetypedEdit.standard()
    assert Path(edit.source).name == edit.path == "argparse.py"
    assert len(edit.line_starts()) == 4
    assert edit.offset > len(edit.text) // 3  # deep enough for a full prompt


def test_each_choice_takes_out_another_run_counting_round(tmp_path: Path) -> None:
    path = tmp_path / "walk.py"
    path.write_text(SOURCE)
    runs = [RetypedEdit.from_file(path, lines=2, choice=n).offset for n in range(4)]
    assert len(set(runs[:3])) == 3  # three runs of two plain lines in the second half
    assert runs[3] == runs[0]

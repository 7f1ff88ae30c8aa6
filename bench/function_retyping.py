"""What ``context_overhead.py`` types: a function body cut out of a real file, and the
keystrokes that type it back.

Owned here, apart from the measuring: which file (without ``--file``, the Python file of a
sample tree that imports most from its own package, so the context has pieces to find),
which function (without ``--function``, a long one from the middle of the file on), and
how many of its lines (about ``--keystrokes`` keys' worth, each line's indentation one key
after Enter, as an auto-indenting editor inserts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sample_tree import SampleTree


@dataclass(frozen=True)
class Retyping:
    """A file with a function body cut out, and the keystrokes that type it back."""

    path: Path
    function: str
    start_line: int  # 0-based: where the cut body began
    opened_text: str
    keystrokes: tuple[str, ...]


def plan_retyping(path: Path, function: str | None, keystrokes: int) -> Retyping:
    """Cut the start of a function's body (whole lines, about ``keystrokes`` keys' worth)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    header = _function_header(lines, function)
    body_start = next(i for i in range(header, len(lines)) if lines[i].rstrip().endswith(":")) + 1
    keys: list[str] = []
    end = body_start
    while end < len(lines) and len(keys) < keystrokes:
        line = lines[end]
        content = line.lstrip(" \t")
        indent = line[: len(line) - len(content)]
        if keys and keys[-1] == "\n":
            keys[-1] += indent  # Enter, then the editor's indentation: one change
        elif indent:
            keys.append(indent)
        keys += [*content.rstrip("\n"), "\n"]
        end += 1
    cut_from = sum(len(line) for line in lines[:body_start])
    cut_to = sum(len(line) for line in lines[:end])
    name = function or lines[header].split("def ", 1)[1].split("(", 1)[0]
    return Retyping(path, name, body_start, text[:cut_from] + text[cut_to:], tuple(keys))


def _function_header(lines: list[str], function: str | None) -> int:
    """The line of ``def function``; without a name, the first function from the middle of
    the file on with at least 20 lines."""
    defs = [i for i, line in enumerate(lines) if line.lstrip().startswith(("def ", "async def "))]
    if function is not None:
        named = [i for i in defs if f"def {function}(" in lines[i]]
        if not named:
            raise SystemExit(f"no function {function} in the file")
        return named[0]
    later = [i for i in defs if i >= len(lines) // 2] + defs
    long_enough = [i for i, j in zip(later, [*later[1:], len(lines)], strict=True) if j - i >= 20]
    if not long_enough:
        raise SystemExit("no function of 20 lines in the file: pass --function")
    return long_enough[0]


def pick_file(tree: SampleTree) -> Path:
    """Without ``--file``: the Python file of 200 to 3,000 lines with the most imports
    from its own package."""

    def relative_imports(path: Path) -> int:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if not 200 <= len(lines) <= 3000:
            return -1
        return sum(line.startswith("from .") for line in lines)

    candidates = [Path(f.path) for f in tree.files if f.language == "python"]
    if not candidates:
        raise SystemExit("no Python file in the tree: pass --file")
    return max(candidates, key=relative_imports)

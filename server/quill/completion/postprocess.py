"""Turn a model's raw continuation into text that fits at the cursor.

Small models ramble: they run past the end of the block, repeat the code that already
follows the cursor, close brackets nobody opened, and indent with their own habits. Each
rule here fixes one of those, and each is a function of the raw text and the cursor, so
each can be tested alone. Where the language has a grammar, the syntax tree refines the
choice of extent and has the last word: a suggestion must not add parse errors.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from quill.completion import syntax
from quill.completion.gate import Extent
from quill.completion.syntax import BracketScanner, Lexicon
from quill.cursor import Cursor

# Indentation steps a model plausibly uses; any other first step is an alignment.
_MODEL_UNITS = frozenset({2, 3, 4, 8})
_TAB_WIDTH = 4
# What a trimmed line may not end with: it would be an unfinished expression.
_DANGLING = tuple("+-*/%=<>&|^~!?:.\\")
# How far up brackets left open are looked for (a call or a literal spread over lines).
_LOOKBACK_LINES = 20


def postprocess(raw: str, cursor: Cursor, extent: Extent, stops: tuple[str, ...]) -> str:
    """The rules in order: cut to the extent, indent like the file, drop what the document
    already has, cut stray or unfinished brackets, then trim what would not parse."""
    text = cut_at_stops(raw, stops)
    if extent is Extent.LINE:
        text = text.split("\n", 1)[0]
    else:
        text = cut_at_block_end(text, cursor)
        text = match_indentation(text, _leading_whitespace(cursor.line_prefix), cursor.indent_unit)
    text = drop_repeated_suffix(text, cursor)
    text = balance_brackets(text, cursor, extent)
    text = drop_lines_adding_errors(text, cursor)
    return text if text.strip() else ""


def cut_at_stops(text: str, stops: tuple[str, ...]) -> str:
    """Cut at the first stop sequence (a server may return it, or ignore stops)."""
    cut = len(text)
    for stop in stops:
        found = text.find(stop)
        if found != -1:
            cut = min(cut, found)
    return text[:cut].replace("\r\n", "\n")


def _indent_width(line: str, tab_width: int = _TAB_WIDTH) -> int:
    stripped = line.lstrip(" \t")
    return len(line[: len(line) - len(stripped)].expandtabs(tab_width))


def _leading_whitespace(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def cut_at_block_end(text: str, cursor: Cursor) -> str:
    """Keep lines while they stay in the cursor's block: the first line that is blank or
    indented less than the cursor's line ends the suggestion."""
    base = _indent_width(cursor.line_prefix)
    lines = text.split("\n")
    kept = [lines[0]]
    for line in lines[1:]:
        if not line.strip() or _indent_width(line) < base:
            break
        kept.append(line)
    return "\n".join(kept).rstrip()


def match_indentation(text: str, line_indent: str, indent_unit: str) -> str:
    """Re-indent the suggestion's lines in the file's unit (tabs, or its width of spaces).

    Models indent with their own habit, mostly 4 spaces. The first step by which the
    suggestion indents past the cursor's line (``line_indent``) is read as the model's
    unit, and each line's depth relative to the cursor's line is re-expressed in the
    file's unit; a remainder (an alignment) is kept as spaces. A first step no model uses
    as a unit (say 7: an alignment) leaves a space-indented file's lines as they are.
    """
    if "\n" not in text:
        return text
    first, *rest = text.split("\n")
    base = _indent_width(line_indent)
    unit_width = _indent_width(indent_unit)
    model_unit = _first_indent_step(rest, base)
    if model_unit is None or model_unit not in _MODEL_UNITS:
        if indent_unit != "\t":
            return text
        model_unit = _TAB_WIDTH
    if indent_unit != "\t" and model_unit == unit_width:
        return text
    fixed = []
    for line in rest:
        body = line.lstrip(" \t")
        relative = _indent_width(line) - base
        if not body or relative < 0:
            fixed.append(line)
            continue
        levels, alignment = divmod(relative, model_unit)
        fixed.append(line_indent + indent_unit * levels + " " * alignment + body)
    return "\n".join([first, *fixed])


def _first_indent_step(lines: list[str], base: int) -> int | None:
    previous = base
    for line in lines:
        if not line.strip():
            continue
        width = _indent_width(line)
        if width > previous:
            return width - previous
        previous = width
    return None


def drop_repeated_suffix(text: str, cursor: Cursor) -> str:
    """Remove what the document already has after the cursor.

    On the cursor's line: a tail of the suggestion that equals the rest of the line
    (``foo(x)`` before an existing ``)``). Over lines: trailing lines of the suggestion
    that equal the lines that follow the cursor, indentation included: the ``  }`` that
    closes the suggestion's own ``if`` is not the ``}`` that closes the function.
    """
    rest_of_line = cursor.line_suffix.strip()
    if rest_of_line and text.rstrip().endswith(rest_of_line):
        text = text.rstrip()[: -len(rest_of_line)]
    if "\n" not in text:
        return text
    following = [line.rstrip() for line in cursor.suffix.split("\n")[1:] if line.strip()]
    lines = text.split("\n")
    for count in range(min(len(lines) - 1, len(following)), 0, -1):
        if [line.rstrip() for line in lines[-count:]] == following[:count]:
            return "\n".join(lines[:-count]).rstrip()
    return text


def balance_brackets(text: str, cursor: Cursor, extent: Extent) -> str:
    """Cut a stray closer, and for a line, a bracket the suggestion leaves open.

    A closer may close a bracket the suggestion opened, or one left open before the
    cursor (on its line, or on the lines just above: the ``)`` of a call spread over
    lines), except those the rest of the line closes: ``foo(a, |)`` with ``b) + 1`` would
    leave two ``)``. At the first other closer the suggestion is cut.

    For a LINE, a bracket the suggestion opens and does not close is closed by nothing
    (the rest of the line closes brackets opened before the cursor). Unless the bracket
    ends the suggestion (``items.forEach((x) => {``: a body that goes on below), the
    suggestion is cut before the outermost such bracket and the call name glued to it
    (``total, len(val`` → ``total,``); if that leaves nothing or an unfinished operator,
    the suggestion is kept as it is: no closers are made up. Brackets in strings and
    comments do not count; if the cursor is in one, nothing is cut.
    """
    region = syntax.region_at(cursor)
    scan = _scan_brackets(text, cursor)
    if scan is None or (region is not None and syntax.in_string_or_comment(region)):
        return text
    if scan.stray is not None:
        return text[: scan.stray].rstrip()
    opened = [(bracket, index) for bracket, index in scan.left_open if index is not None]
    if extent is Extent.BLOCK or not opened or _ends_with_opener(text, opened):
        return text
    head = re.sub(r"[\w.$]+$", "", text[: opened[0][1]]).rstrip()
    return head if head.strip() and not head.endswith(_DANGLING) else text


class BracketScan(NamedTuple):
    """What a suggestion does to the brackets around the cursor (``_scan_brackets``)."""

    stray: int | None  # where its first stray closer is
    # The brackets left open after it, outermost first: those it opens with their index,
    # those opened before the cursor (and not closed by the rest of its line) with None.
    left_open: list[tuple[str, int | None]]
    literal_closer: str | None  # of a docstring or block comment it leaves open


def _scan_brackets(text: str, cursor: Cursor) -> BracketScan | None:
    """The suggestion's brackets; ``None`` if the cursor's line ends in a string or
    comment, where brackets are prose."""
    lexicon = syntax.lexicon_for(syntax.grammar_of(cursor))
    scanner = BracketScanner(lexicon)
    stack = _left_open_above(cursor, lexicon)  # (opener, index in text, or None: before)
    for _, bracket in scanner.brackets(cursor.line_prefix):
        if syntax.is_opener(bracket):
            stack.append((bracket, None))
        elif stack and stack[-1][0] == syntax.matching_opener(bracket):
            stack.pop()
    if scanner.in_literal:
        return None
    for closer in syntax.unmatched_closers(cursor.line_suffix, lexicon):
        if stack and stack[-1][0] == syntax.matching_opener(closer):
            stack.pop()
    for index, bracket in scanner.brackets(text):
        if syntax.is_opener(bracket):
            stack.append((bracket, index))
        elif stack and stack[-1][0] == syntax.matching_opener(bracket):
            stack.pop()
        else:
            return BracketScan(index, [], None)
    return BracketScan(None, stack, scanner.open_across_lines)


def _left_open_above(cursor: Cursor, lexicon: Lexicon) -> list[tuple[str, int | None]]:
    """The brackets that the ``_LOOKBACK_LINES`` lines above the cursor's leave open,
    outermost first. One opened higher up, or inside a string that began higher up, is
    missed: a closer it would allow is then cut, as before, and a closer it allows wrongly
    still has to parse (:func:`drop_lines_adding_errors`)."""
    line_start = cursor.offset - len(cursor.line_prefix)
    start = line_start
    for _ in range(_LOOKBACK_LINES):
        if start == 0:
            break
        start = cursor.text.rfind("\n", 0, start - 1) + 1
    stack: list[tuple[str, int | None]] = []
    for _, bracket in BracketScanner(lexicon).brackets(cursor.text[start:line_start]):
        if syntax.is_opener(bracket):
            stack.append((bracket, None))
        elif stack and stack[-1][0] == syntax.matching_opener(bracket):
            stack.pop()
    return stack


def _ends_with_opener(text: str, opened: list[tuple[str, int]]) -> bool:
    return bool(opened) and opened[-1][1] == len(text.rstrip()) - 1


def drop_lines_adding_errors(text: str, cursor: Cursor) -> str:
    """Trim whole lines from the end until inserting the suggestion adds no parse error.

    The document being typed often has errors already (an unfinished line), so the count
    with the suggestion is compared with the count without it; zero is not required.
    Brackets the suggestion leaves open are judged closed: closing them is the user's
    next step (``if (x) {`` starts what the next lines finish; an answer cut short by
    the token budget is a start too), and :func:`balance_brackets` has ruled on them.
    Where brackets opened before the cursor are still open (a dict or a call being
    typed over lines, whose closer is not written yet), a suggestion that adds errors
    is tried once more with those closed too, before and after it: inside the unclosed
    ``{`` the line ``for p in paths`` parses only once the ``}`` comes.
    If even the first line adds errors, there is no suggestion (``""``). Each trial
    parses the cursor's region (the document, or a window of a huge one: see
    :func:`syntax.region_at`); a language without a grammar is not checked.
    """
    region = syntax.region_at(cursor)
    if region is None or not text.strip():
        return text
    before = syntax.error_count(region)
    open_before = _closers_left_open("", cursor, own_only=False)
    before_closed: int | None = None  # parsed only once a candidate needs it
    lines = text.split("\n")
    for count in range(len(lines), 0, -1):
        candidate = text if count == len(lines) else "\n".join(lines[:count]).rstrip()
        if not candidate.strip():
            continue
        trial = candidate + _closers_left_open(candidate, cursor)
        if syntax.error_count_with(region, trial) <= before:
            return candidate
        if not open_before:
            continue
        if before_closed is None:
            before_closed = syntax.error_count_with(region, open_before)
        closed = candidate + _closers_left_open(candidate, cursor, own_only=False)
        if syntax.error_count_with(region, closed) <= before_closed:
            return candidate
    return ""


def _closers_left_open(text: str, cursor: Cursor, own_only: bool = True) -> str:
    """The closers of the brackets left open after ``text``, innermost first: those
    ``text`` opens, and unless ``own_only``, those opened before the cursor too. A
    docstring (or block comment) that ``text`` leaves open comes first: one cut at the
    time budget, like its brackets, is closed by the next suggestion."""
    scan = _scan_brackets(text, cursor)
    if scan is None or scan.stray is not None:
        return ""
    return (scan.literal_closer or "") + "".join(
        syntax.matching_closer(bracket)
        for bracket, index in reversed(scan.left_open)
        if index is not None or not own_only
    )

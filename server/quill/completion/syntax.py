"""What the code around the cursor says about a completion: the syntax facts of the gate and
of post-processing, all in one module.

Two kinds of facts. From tree-sitter (the grammars of :mod:`quill.context.languages`):
whether the cursor is in a string or comment, whether it follows an operator, whether a
``:`` ends a block header, and how many parse errors a text has. From a lexical scan of one
line: which brackets are open, skipping strings and comments. The scan is for the suggestion itself,
which is a fragment no parser can judge alone.

Parsing is the cost here. A request parses the document once: :func:`region_at` keys the
parse by text, so the extent gate and the post-processing share it; only the trial texts
with a suggestion inserted are parsed again. A huge document is parsed as a window around
the cursor instead (see :data:`WHOLE_DOCUMENT_CHARS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import attrs
import tree_sitter

from quill.context import languages
from quill.context.languages import ParsedText, count_errors
from quill.cursor import Cursor

# Parsing Python takes about 0.13 ms per KB (a 200 KB, 5,000-line file: ~26 ms), and a
# request parses the text at least twice (without and with the suggestion), on every
# keystroke. Above this size only a window around the cursor is parsed: at most
# _WINDOW_BEFORE characters before it (less, as the start moves forward to a declaration)
# and _WINDOW_AFTER after it (more, to the end of that line), some 12-13 KB that parse in
# ~1.5-3 ms. That is enough to judge a suggestion, which only touches the code near the
# cursor.
WHOLE_DOCUMENT_CHARS = 16_000
_WINDOW_BEFORE = 10_000
_WINDOW_AFTER = 3_000
# Where a window may start so that it parses like the whole document: after a blank line,
# a column-0 line that opens a declaration (prose in a docstring seldom starts so), or
# failing that any column-0 line of code.
_DECLARATION_START = re.compile(
    r"\n[ \t]*\n(?=(?:def|class|async|import|from|function|export|const|let|var|interface|"
    r"type|func|fn|pub|impl|struct|enum|trait|use|mod|public|private|protected|static|"
    r"template|namespace)\b|@|#\[|#include)"
)
_TOP_LEVEL_LINE = re.compile(r"\n(?=[^\s)\]}])")

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")": "(", "]": "[", "}": "{"}

# Tokens that leave an expression unfinished: after one, the next line only continues it.
_OPERATORS = frozenset(
    {
        "+", "-", "*", "/", "%", "**", "//", "@", "==", "!=", "<", ">", "<=", ">=", "and",
        "or", "not", "in", "is", "&", "|", "^", "<<", ">>", ">>>", "&&", "||", "??", "?",
        "=", "+=", "-=", "*=", "/=", "%=", "//=", "**=", "@=", "&=", "|=", "^=", "<<=",
        ">>=", ">>>=", "&&=", "||=", "??=", ":=", "<-",
    }
)  # fmt: skip
# Parents for which such a token is an operator (``*`` of ``import *`` or ``>`` of a JSX
# tag are not). An unfinished expression usually parses as an ERROR.
_EXPRESSION_PARENT_WORDS = (
    "ERROR", "binary", "boolean", "comparison", "unary", "not_operator", "assignment",
    "ternary", "conditional", "declarator", "declaration", "named_expression",
)  # fmt: skip
# Nodes whose ``:`` opens an indented block or a case body.
_HEADER_TYPES = frozenset(
    {
        "function_definition", "class_definition", "if_statement", "elif_clause",
        "else_clause", "for_statement", "while_statement", "with_statement",
        "try_statement", "except_clause", "except_group_clause", "finally_clause",
        "match_statement", "case_clause", "switch_case", "switch_default",
        "case_statement", "labeled_statement", "access_specifier", "expression_case",
        "default_case", "type_case", "communication_case", "switch_label",
    }
)  # fmt: skip
# When the header does not parse (``else:`` alone is an ERROR), its first word tells.
_HEADER_WORDS = frozenset(
    {
        "def", "class", "if", "elif", "else", "for", "while", "with", "try", "except",
        "finally", "async", "match", "case", "default", "public", "private", "protected",
    }
)  # fmt: skip


@attrs.frozen
class Region:
    """The text parsed for one request: the document, or a window of a huge one."""

    text: str
    offset: int  # the cursor's index in ``text``
    language: str  # a grammar name of :mod:`quill.context.languages`

    @property
    def tree(self) -> ParsedText:
        return _parse(self.text, self.language)

    @property
    def cursor_byte(self) -> int:
        return self.tree.byte(self.offset)


def grammar_of(cursor: Cursor) -> str | None:
    """The grammar name for the cursor's document, ``None`` where none is installed."""
    return languages.language_of(cursor.language_id, cursor.path)


def region_at(cursor: Cursor) -> Region | None:
    """The region to parse for this cursor, or ``None`` for a language without a grammar.

    Over :data:`WHOLE_DOCUMENT_CHARS`, the window starts at the first top-level
    declaration after a blank line (failing that, the first column-0 line; failing that,
    the first whole line) within the 10 KB before the cursor, and ends at the end of the
    line 3 KB after the cursor: the parse stays a few ms, and errors far from the cursor
    count the same before and after an insertion. A window that starts inside a
    multi-line string would read it inside out: the start is chosen to make that
    unlikely, not impossible.
    """
    language = grammar_of(cursor)
    if language is None:
        return None
    text, offset = cursor.text, cursor.offset
    if len(text) <= WHOLE_DOCUMENT_CHARS:
        return Region(text, offset, language)
    line_start = text.rfind("\n", 0, offset) + 1
    nominal = max(0, offset - _WINDOW_BEFORE)
    top = _DECLARATION_START.search(text, nominal, line_start)
    top = top or _TOP_LEVEL_LINE.search(text, nominal, line_start)
    start = top.end() if top else min(text.find("\n", nominal) + 1, line_start)
    end = text.find("\n", min(len(text), offset + _WINDOW_AFTER))
    end = len(text) if end == -1 else end
    return Region(text[start:end], offset - start, language)


@lru_cache(maxsize=4)
def _parse(text: str, language: str) -> ParsedText:
    """Parse once per text: the gate and the post-processing of a request share the tree.

    A Python string caches its hash and compares by identity first, so finding the
    cursor's own text again costs nothing; the few entries bound the memory held.
    """
    return languages.parse(text, language)


def error_count(region: Region) -> int:
    """Parse errors of the region (from the shared parse)."""
    return count_errors(region.tree.root)


def error_count_with(region: Region, insertion: str) -> int:
    """Parse errors of the region with ``insertion`` typed at the cursor."""
    text = region.text[: region.offset] + insertion + region.text[region.offset :]
    return count_errors(languages.parse(text, region.language).root)


def in_string_or_comment(region: Region) -> bool:
    """Whether the cursor is inside a string literal or a comment (prose, not code).

    At a string's closing quote the cursor is outside it; at the end of a line comment
    it is still inside (typing goes on in the comment).
    """
    point = region.cursor_byte
    node: tree_sitter.Node | None = region.tree.root.descendant_for_byte_range(
        max(point - 1, 0), point
    )
    while node is not None:
        kind = node.type
        if "comment" in kind:
            if node.start_byte < point < node.end_byte:
                return True
            closed = region.text.endswith("*/", 0, region.tree.offset(node.end_byte))
            return node.start_byte < point == node.end_byte and not closed
        if _is_string(kind):
            return node.start_byte < point < node.end_byte
        node = node.parent
    return False


def _is_string(kind: str) -> bool:
    if kind == "concatenated_string":  # ``"a" "b"``: between the parts is code
        return False
    return kind.endswith(("string", "string_literal", "char_literal", "character_literal"))


def follows_operator(region: Region) -> bool:
    """Whether the last token before the cursor (maybe lines above it) is an operator
    that needs a right-hand side: what follows finishes an expression, not a block."""
    end = region.offset
    while end > 0 and region.text[end - 1] in " \t\r\n":
        end -= 1
    if end == 0:
        return False
    tree = region.tree
    point = tree.byte(end)
    node = tree.root.descendant_for_byte_range(tree.byte(end - 1), point)
    if node is None or node.is_named or node.end_byte != point or node.type not in _OPERATORS:
        return False
    parent = node.parent
    return parent is not None and any(word in parent.type for word in _EXPRESSION_PARENT_WORDS)


def colon_opens_block(region: Region, line_prefix: str) -> bool:
    """Whether the ``:`` that ends ``line_prefix`` opens a block (``def f(x):``, ``case 1:``)
    rather than asking for a value (``{"a":``, ``x[1:``, ``lambda y:``, ``std::``)."""
    trailing = len(line_prefix) - len(line_prefix.rstrip())
    colon = region.offset - trailing - 1
    if colon < 0 or region.text[colon] != ":":
        return False
    if open_brackets(line_prefix, lexicon_for(region.language)):
        return False  # a dict, slice or annotation inside brackets
    tree = region.tree
    node = tree.root.descendant_for_byte_range(tree.byte(colon), tree.byte(colon + 1))
    if node is None or node.type != ":" or node.parent is None:
        return False  # part of ``::`` or of a string
    if node.parent.type in _HEADER_TYPES:
        return True
    if node.parent.type != "ERROR":
        return False
    words = re.findall(r"\w+", line_prefix)
    return bool(words) and words[0] in _HEADER_WORDS


@attrs.frozen
class Lexicon:
    """How a language writes strings and comments: enough to skip the brackets in them."""

    quotes: str = "\"'`"
    line_comment: str | None = None
    block_comment: tuple[str, str] | None = None
    triple_quotes: bool = False  # Python's ``\"\"\"``, which may span lines
    char_literal_quote: bool = False  # Rust: ``'x'`` is a literal, ``'a`` a lifetime


_C_LIKE = Lexicon("\"'", "//", ("/*", "*/"))
_JS_LIKE = Lexicon("\"'`", "//", ("/*", "*/"))
_LEXICONS = {
    "python": Lexicon("\"'", "#", triple_quotes=True),
    "javascript": _JS_LIKE,
    "javascriptreact": _JS_LIKE,
    "typescript": _JS_LIKE,
    "typescriptreact": _JS_LIKE,
    "go": _JS_LIKE,
    "rust": Lexicon('"', "//", ("/*", "*/"), char_literal_quote=True),
    "java": _C_LIKE,
    "c": _C_LIKE,
    "cpp": _C_LIKE,
}


def lexicon_for(language: str | None) -> Lexicon:
    """The lexicon of a grammar name; unknown languages get quotes and no comments."""
    return _LEXICONS.get(language or "", Lexicon())


class BracketScanner:
    """Finds the brackets of code text, skipping strings and comments.

    The state (inside which literal) carries over from one :meth:`brackets` call to the
    next, so the cursor's line prefix can be scanned first and the suggestion after it.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self._lexicon = lexicon
        self._closing: str | None = None  # what ends the literal being read
        self._single_line = False  # a plain string or line comment ends with the line

    @property
    def in_literal(self) -> bool:
        return self._closing is not None

    @property
    def open_across_lines(self) -> str | None:
        """The closer of the literal being read, where it may span lines (a docstring, a
        block comment, a template string); ``None`` elsewhere."""
        return None if self._single_line else self._closing

    def brackets(self, text: str) -> Iterator[tuple[int, str]]:
        """``(index, bracket)`` for each bracket of ``text`` that is code."""
        index = 0
        while index < len(text):
            if self._closing is not None:
                index = self._skip_literal(text, index)
            elif (opened := self._open_literal(text, index)) > index:
                index = opened
            else:
                if text[index] in _OPENERS or text[index] in _CLOSERS:
                    yield index, text[index]
                index += 1

    def _open_literal(self, text: str, index: int) -> int:
        """Enter the literal starting at ``index``; where its body starts (``index`` if none)."""
        lexicon, char = self._lexicon, text[index]
        if lexicon.triple_quotes and text.startswith((char * 3), index) and char in "\"'":
            self._closing, self._single_line = char * 3, False
            return index + 3
        if lexicon.block_comment and text.startswith(lexicon.block_comment[0], index):
            self._closing, self._single_line = lexicon.block_comment[1], False
            return index + len(lexicon.block_comment[0])
        if lexicon.line_comment and text.startswith(lexicon.line_comment, index):
            self._closing, self._single_line = "\n", True
            return index + len(lexicon.line_comment)
        if lexicon.char_literal_quote and char == "'":
            if text[index + 1 : index + 2] == "\\" or text[index + 2 : index + 3] == "'":
                self._closing, self._single_line = "'", True
                return index + 1
            return index  # a lifetime
        if char in lexicon.quotes:
            self._closing, self._single_line = char, char != "`"
            return index + 1
        return index

    def _skip_literal(self, text: str, index: int) -> int:
        closing = self._closing
        assert closing is not None
        while index < len(text):
            if text[index] == "\\" and closing not in ("\n", "*/"):
                index += 2
            elif text.startswith(closing, index):
                self._closing = None
                return index + len(closing)
            elif text[index] == "\n" and self._single_line:
                self._closing = None
                return index + 1
            else:
                index += 1
        return index


def ends_in_string_or_comment(line: str, lexicon: Lexicon) -> bool:
    """Whether ``line`` ends inside a string or comment it opened (an unterminated string
    on the line being typed, which the tree only shows as an ERROR)."""
    scanner = BracketScanner(lexicon)
    for _ in scanner.brackets(line):
        pass
    return scanner.in_literal


def open_brackets(line: str, lexicon: Lexicon) -> list[str]:
    """The brackets ``line`` leaves open, innermost last (a stray closer is ignored)."""
    stack: list[str] = []
    for _, bracket in BracketScanner(lexicon).brackets(line):
        if bracket in _OPENERS:
            stack.append(bracket)
        elif stack and stack[-1] == _CLOSERS[bracket]:
            stack.pop()
    return stack


def unmatched_closers(line: str, lexicon: Lexicon) -> list[str]:
    """The closers of ``line`` that close brackets opened before it, in order."""
    stack: list[str] = []
    unmatched: list[str] = []
    for _, bracket in BracketScanner(lexicon).brackets(line):
        if bracket in _OPENERS:
            stack.append(bracket)
        elif stack:
            stack.pop()
        else:
            unmatched.append(bracket)
    return unmatched


def matching_opener(closer: str) -> str:
    return _CLOSERS[closer]


def matching_closer(opener: str) -> str:
    return _OPENERS[opener]


def is_opener(bracket: str) -> bool:
    return bracket in _OPENERS

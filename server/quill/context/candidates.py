"""What could go into a prompt besides the cursor's window, ranked by how likely it is
to hold what the next line needs.

Most rejected suggestions lacked a definition: a helper from another file, the
methods of an imported class. So, in order: definitions of the names used right before
the cursor (imported ones first, resolved through the import), definitions of the
other names the file imports, code in other open buffers that resembles the code at
the cursor, and code the user just edited elsewhere.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from typing import Literal

import attrs

from quill.context.index import IndexedSymbol, WorkspaceIndex
from quill.context.recent_edits import RecentEdits
from quill.context.snippets import Buffer, SnippetFinder
from quill.context.symbols import Symbol
from quill.cursor import Cursor

PieceKind = Literal["definition", "snippet", "edit"]

NEAR_LINES = 30  # lines before the cursor whose names count as "in use"
_MAX_DEFINITIONS_PER_NAME = 2
_MAX_CANDIDATES = 24
_AMBIGUOUS = 3  # a name defined this often across the workspace says little by itself
_WRITTEN_CHARS = 200_000  # how far back "the code above" looks for names already used
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_CHARACTERS = string.ascii_letters + string.digits + "_"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # LSP's line ends, and no others
# Keywords and everyday names of the common languages: sharing them says nothing.
_COMMON_WORDS_TEXT = (
    "and as assert async await break case catch class const continue def default del do "
    "elif else enum except export extends false final finally fn for from func function "
    "go if impl import in instanceof interface is lambda let match mut new nil none not "
    "null or package pass pub raise return self static struct super switch this throw "
    "true try type typeof use var void while with yield int str float bool char double "
    "long string print len range list dict set tuple object cls args kwargs"
)
_COMMON_WORDS = frozenset(_COMMON_WORDS_TEXT.split())


@attrs.frozen
class ContextPiece:
    """Text from outside the window, and why it is in the prompt."""

    kind: PieceKind
    path: str
    start_line: int  # 0-based, inclusive
    end_line: int
    text: str
    reason: str
    name: str = ""  # a definition's qualified name: its identity while lines shift

    @property
    def key(self) -> tuple[str, str, str | int, int]:
        """What stays the same while the piece stays relevant: not its exact text, and
        for a definition not its lines either (an Enter above it moves them)."""
        if self.name:
            return (self.kind, self.path, self.name, 0)
        return (self.kind, self.path, self.start_line, self.end_line)


@attrs.frozen
class ContextSources:
    """Where candidates come from; any of them may be empty."""

    index: WorkspaceIndex | None = None
    buffers: Callable[[], list[Buffer]] = list  # the open buffers, the current one included
    recent_edits: RecentEdits | None = None
    snippets: SnippetFinder = attrs.field(factory=SnippetFinder)


@attrs.frozen
class Window:
    """The part of the current file the prompt shows anyway, in lines."""

    start_line: int
    end_line: int
    cursor_line: int = -1

    def shows(self, start_line: int, end_line: int) -> bool:
        """Whether a range of the current file needs no piece of its own: the window
        holds it whole, or it holds the cursor (it is the code being edited, which the
        window shows up to the cursor, and which changes with each keystroke)."""
        inside = start_line >= self.start_line and end_line <= self.end_line
        return inside or start_line <= self.cursor_line <= end_line


def rank_candidates(cursor: Cursor, window: Window, sources: ContextSources) -> list[ContextPiece]:
    """Candidates best first, without duplicates or overlaps (the better piece wins)."""
    ranked: list[ContextPiece] = []
    for piece in _in_order(cursor, window, sources):
        if piece.path == cursor.path and window.shows(piece.start_line, piece.end_line):
            continue
        if any(_overlaps(piece, kept) for kept in ranked):
            continue
        ranked.append(piece)
        if len(ranked) >= _MAX_CANDIDATES:
            break
    return ranked


def names_near(cursor: Cursor) -> list[str]:
    """Names used in the lines before the cursor (and the rest of its line), nearest
    first."""
    start = cursor.offset
    for _ in range(NEAR_LINES):
        start = cursor.text.rfind("\n", 0, start)
        if start <= 0:
            start = 0
            break
    before = cursor.text[start : cursor.offset]
    before = before.rstrip(_WORD_CHARACTERS)  # a word being typed is not a name yet
    text = before + cursor.line_suffix
    seen: dict[str, None] = {}
    for name in reversed(_IDENTIFIER.findall(text)):
        if len(name) > 1 and name.lower() not in _COMMON_WORDS:
            seen.setdefault(name, None)
    return list(seen)


def _in_order(cursor: Cursor, window: Window, sources: ContextSources) -> Iterator[ContextPiece]:
    near = names_near(cursor)
    if sources.index is not None:
        yield from _definitions(cursor, window, sources.index, near)
    yield from _similar_code(cursor, sources)
    if sources.recent_edits is not None:
        yield from _recent_edits(cursor, window, sources)


def _definitions(
    cursor: Cursor, window: Window, index: WorkspaceIndex, near: list[str]
) -> Iterator[ContextPiece]:
    imported = index.imported_names(cursor.path)
    modules = index.imported_files(cursor.path)  # for ``module.name`` uses, and ranking
    used = set(near)
    # 1. Names in use that the file imports, nearest first: their whole outline.
    for name in near:
        for entry in imported.get(name, ())[:_MAX_DEFINITIONS_PER_NAME]:
            yield _definition_piece(entry, f"`{name}` is imported and used near the cursor")
    # 2. The rest of what the file imports, in short (signature and first doc line):
    #    first the names the code above has not used yet, the likeliest to come next.
    above = cursor.text[max(0, cursor.offset - _WRITTEN_CHARS) : cursor.offset]
    unused = sorted(
        (name for name in imported if name not in used),
        key=lambda name: _used_in(name, above),
    )
    for name in unused:
        for entry in imported[name][:1]:
            yield _definition_piece(entry, f"`{name}` is imported by this file", short=True)
    # 3. Other names in use, defined in this file outside the window or elsewhere.
    for name in near:
        if name in imported:
            continue
        for entry in _best_definitions(cursor, window, index.lookup(name), modules):
            yield _definition_piece(entry, f"`{name}` is used near the cursor")


def _used_in(name: str, text: str) -> bool:
    """Whether ``text`` uses ``name`` beyond the import that binds it: seen twice."""
    found = re.finditer(rf"\b{re.escape(name)}\b", text)
    return next(found, None) is not None and next(found, None) is not None


def _best_definitions(
    cursor: Cursor, window: Window, entries: tuple[IndexedSymbol, ...], modules: frozenset[str]
) -> list[IndexedSymbol]:
    """The definitions of a name worth showing: in this file (outside the window), in a
    file this one imports, in its folder, or anywhere when the name is nearly unique."""
    folder = cursor.path.rsplit("/", 1)[0]

    def closeness(entry: IndexedSymbol) -> int:
        if entry.path == cursor.path:
            return 0
        if entry.path in modules:
            return 1
        return 2 if entry.path.rsplit("/", 1)[0] == folder else 3

    wanted = [
        entry
        for entry in entries
        # A member found by its name alone (``x.join``) is a guess: some other class's.
        if (entry.symbol.container is None or entry.path == cursor.path)
        and not (
            entry.path == cursor.path
            and window.shows(entry.symbol.start_line, entry.symbol.end_line)
        )
        and (closeness(entry) < 3 or len(entries) < _AMBIGUOUS)
    ]
    return sorted(wanted, key=closeness)[:_MAX_DEFINITIONS_PER_NAME]


def _definition_piece(entry: IndexedSymbol, reason: str, short: bool = False) -> ContextPiece:
    symbol = entry.symbol
    text = _short_form(symbol) if short else symbol.outline or symbol.signature
    name = f"{symbol.container}.{symbol.name}" if symbol.container else symbol.name
    return ContextPiece(
        "definition", entry.path, symbol.start_line, symbol.end_line, text, reason, name
    )


def _short_form(symbol: Symbol) -> str:
    """A definition in a line or two: what a name is, for the names not in use yet."""
    doc = (symbol.docstring or "").strip().split("\n", 1)[0].strip()
    if not doc:
        return symbol.signature
    if symbol.signature.rstrip().endswith(":"):  # Python: the docstring goes below
        return f'{symbol.signature}\n    """{doc}"""'
    return f"/** {doc} */\n{symbol.signature}"


def _similar_code(cursor: Cursor, sources: ContextSources) -> Iterator[ContextPiece]:
    others = [buffer for buffer in sources.buffers() if buffer.path != cursor.path]
    if not others:
        return
    start = cursor.offset
    for _ in range(20):
        start = max(cursor.text.rfind("\n", 0, start), 0)
    query = cursor.text[start : cursor.offset]
    for snippet in sources.snippets.similar(query, others):
        yield ContextPiece(
            "snippet",
            snippet.path,
            snippet.start_line,
            snippet.end_line,
            snippet.text,
            f"similar to the code at the cursor (Jaccard {snippet.score:.2f})",
        )


def _recent_edits(
    cursor: Cursor, window: Window, sources: ContextSources
) -> Iterator[ContextPiece]:
    assert sources.recent_edits is not None
    texts = {buffer.path: buffer.text for buffer in sources.buffers()}
    exclude = (cursor.path, window.start_line, window.end_line)
    for region in sources.recent_edits.regions(exclude=exclude):
        text = texts.get(region.uri)
        if text is None:
            continue
        lines = _LINE_BREAK.split(text)[region.start_line : region.end_line + 1]
        if "".join(lines).strip():
            yield ContextPiece(
                "edit",
                region.uri,
                region.start_line,
                region.end_line,
                "\n".join(lines),
                "edited recently",
            )


def _overlaps(piece: ContextPiece, other: ContextPiece) -> bool:
    return (
        piece.path == other.path
        and piece.start_line <= other.end_line
        and other.start_line <= piece.end_line
    )

"""Code in other open buffers that resembles the code before the cursor.

The user usually has the file they imitate open next to the one they type in, so windows of
those buffers that share the most identifiers with the lines before the cursor are cheap and
effective prompt context (the "neighbouring tabs" of Copilot-style clients). Similarity is the
Jaccard index of identifier sets, with the keywords of common languages left out so that a
match means shared vocabulary rather than shared syntax.

This runs on every keystroke, so each buffer is tokenised once per version: its windows'
token sets are kept in an inverted index (token → windows that contain it), and a query only
counts, per window, how many of its own tokens each window holds.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Iterable
from itertools import chain

import attrs

_LINE_END = re.compile(r"\r\n|\r|\n")  # LSP's line ends only, so line numbers match the editor
# Identifier-like words of two characters or more: one-letter names (i, x, n) are everywhere.
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]+")

# Keywords, builtin types and literals of Python, JavaScript/TypeScript, Go, Rust, Java, C/C++,
# plus the commonest English words of comments: tokens that every file shares.
_STOP_WORDS_TEXT = """
    and as assert async await break class continue def del elif else except finally for from
    global if import in is lambda nonlocal not or pass raise return try while with yield
    None True False self cls print len range str int float bool list dict set tuple object
    var let const function new this typeof instanceof null undefined true false extends export
    default do switch case catch throw void of interface type enum public private protected
    static readonly implements abstract super package func go defer select chan map struct nil
    fn mut pub impl trait use mod crate Self where ref move loop dyn unsafe match Some Ok Err
    String Vec Option Result usize isize u8 u16 u32 u64 i8 i16 i32 i64 f32 f64 final boolean
    char double long short byte unsigned signed sizeof include define ifdef ifndef endif
    namespace using template typename auto std string
    the an to at be by on it its that are was these those we you can will should
"""
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@attrs.frozen
class Buffer:
    """An open document as the finder sees it; ``version`` must change whenever ``text`` does."""

    path: str
    version: int
    text: str


@attrs.frozen
class Snippet:
    """A window of a buffer; ``start_line`` and ``end_line`` are 0-based and inclusive."""

    path: str
    start_line: int
    end_line: int
    text: str
    score: float


def tokens(text: str) -> frozenset[str]:
    """The identifier-like words of ``text`` that carry meaning (no keywords, no 1-letter)."""
    return frozenset(_TOKEN.findall(text)) - _STOP_WORDS


@attrs.frozen
class _Windows:
    """One buffer's windows of a given height: their line ranges, sizes and inverted index."""

    ranges: tuple[tuple[int, int], ...]  # (start, end) lines, inclusive
    sizes: tuple[int, ...]  # number of distinct tokens in each window
    postings: dict[str, list[int]]  # token → indices of the windows that contain it


class _BufferIndex:
    """A buffer's lines and their tokens, built once per version; windows built per height."""

    def __init__(self, buffer: Buffer) -> None:
        self.version = buffer.version
        self.lines = _split_lines(buffer.text)
        self.line_tokens = [tokens(line) for line in self.lines]
        self._windows: dict[int, _Windows] = {}

    def windows(self, window_lines: int) -> _Windows:
        if window_lines not in self._windows:
            self._windows[window_lines] = self._build_windows(window_lines)
        return self._windows[window_lines]

    def _build_windows(self, window_lines: int) -> _Windows:
        ranges = _window_ranges(len(self.lines), window_lines)
        sizes: list[int] = []
        postings: dict[str, list[int]] = {}
        for index, (start, end) in enumerate(ranges):
            window_tokens = frozenset().union(*self.line_tokens[start : end + 1])
            sizes.append(len(window_tokens))
            for token in window_tokens:
                postings.setdefault(token, []).append(index)
        return _Windows(ranges, tuple(sizes), postings)

    def text_of(self, start: int, end: int) -> str:
        """Lines ``start..end`` joined with their own line ends, without the last one's."""
        last = self.lines[end].rstrip("\r\n")
        return "".join(self.lines[start:end]) + last


class SnippetFinder:
    """Finds the windows of open buffers most similar to the code before the cursor.

    Keeps an index of up to ``max_cached_buffers`` buffers, least recently used dropped
    first; call ``forget`` when a buffer closes so its memory goes at once.
    """

    def __init__(self, *, max_cached_buffers: int = 32) -> None:
        self._max_cached = max_cached_buffers
        self._indexes: OrderedDict[str, _BufferIndex] = OrderedDict()

    def similar(
        self,
        query_text: str,
        buffers: Iterable[Buffer],
        *,
        max_snippets: int = 3,
        window_lines: int = 20,
        min_score: float = 0.1,
    ) -> list[Snippet]:
        """The best window of each buffer scoring at least ``min_score``, best first.

        ``query_text`` is the text of the lines before the cursor (about ``window_lines`` of
        them); ``buffers`` are the other open buffers, not the one being edited.
        """
        if window_lines < 1:
            raise ValueError(f"window_lines must be positive, not {window_lines}")
        query = tokens(query_text)
        if not query or max_snippets < 1:
            return []
        found = []
        for buffer in buffers:
            snippet = self._best_window(query, buffer, window_lines)
            if snippet is not None and snippet.score >= min_score:
                found.append(snippet)
        found.sort(key=lambda snippet: snippet.score, reverse=True)  # stable: buffer order on ties
        return found[:max_snippets]

    def forget(self, path: str) -> None:
        """Drops a closed buffer's index."""
        self._indexes.pop(path, None)

    def _best_window(
        self, query: frozenset[str], buffer: Buffer, window_lines: int
    ) -> Snippet | None:
        index = self._index(buffer)
        windows = index.windows(window_lines)
        shared = query & windows.postings.keys()
        shared_counts = Counter(chain.from_iterable(windows.postings[token] for token in shared))
        best_score, best_window = 0.0, -1
        for window, count in shared_counts.items():
            score = count / (len(query) + windows.sizes[window] - count)
            if score > best_score or (score == best_score and window < best_window):
                best_score, best_window = score, window
        if best_window < 0:
            return None
        start, end = _trim_blank_lines(index.lines, *windows.ranges[best_window])
        return Snippet(buffer.path, start, end, index.text_of(start, end), best_score)

    def _index(self, buffer: Buffer) -> _BufferIndex:
        index = self._indexes.get(buffer.path)
        if index is None or index.version != buffer.version:
            index = _BufferIndex(buffer)
            self._indexes[buffer.path] = index
        self._indexes.move_to_end(buffer.path)
        while len(self._indexes) > self._max_cached:
            self._indexes.popitem(last=False)
        return index


def _split_lines(text: str) -> list[str]:
    """The lines of ``text``, each with its line end; a final line end starts an empty line."""
    starts = [0, *(match.end() for match in _LINE_END.finditer(text))]
    ends = [*starts[1:], len(text)]
    return [text[start:end] for start, end in zip(starts, ends, strict=True)]


def _window_ranges(line_count: int, window_lines: int) -> tuple[tuple[int, int], ...]:
    """Windows of ``window_lines`` lines every half window, the last one flush with the end."""
    if line_count <= window_lines:
        return ((0, line_count - 1),)
    stride = max(1, window_lines // 2)
    starts = list(range(0, line_count - window_lines + 1, stride))
    if starts[-1] != line_count - window_lines:
        starts.append(line_count - window_lines)
    return tuple((start, start + window_lines - 1) for start in starts)


def _trim_blank_lines(lines: list[str], start: int, end: int) -> tuple[int, int]:
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end].strip():
        end -= 1
    return start, end

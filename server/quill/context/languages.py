"""The one registry of tree-sitter grammars: which languages Quill parses and how it names
them, and the one way an editor's text is parsed with them.

Every grammar is an official wheel compiled into the environment, so nothing is downloaded at
run time. A grammar name is also the LSP language id where the two agree; ``language_of``
maps an editor's id (or, failing that, a file suffix) to one. Editors count in string
indices and tree-sitter in bytes: ``ParsedText`` converts once per parse, so completions,
actions and hovers all read syntax in the editor's offsets; ``count_errors`` is the check
every edit Quill offers must pass.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import PurePath

import tree_sitter
import tree_sitter_c
import tree_sitter_cpp
import tree_sitter_go
import tree_sitter_java
import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_rust
import tree_sitter_typescript

_GRAMMARS: dict[str, Callable[[], object]] = {
    "python": tree_sitter_python.language,
    "javascript": tree_sitter_javascript.language,
    "javascriptreact": tree_sitter_javascript.language,  # the grammar includes JSX
    "typescript": tree_sitter_typescript.language_typescript,
    "typescriptreact": tree_sitter_typescript.language_tsx,
    "go": tree_sitter_go.language,
    "rust": tree_sitter_rust.language,
    "java": tree_sitter_java.language,
    "c": tree_sitter_c.language,
    "cpp": tree_sitter_cpp.language,
}

LANGUAGES = frozenset(_GRAMMARS)

_SUFFIXES = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascriptreact",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescriptreact",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    # C++'s grammar reads C headers as well as C's does, and C++ headers far better
    # (measured on PyTorch's headers: twice the definitions in a third of the time).
    ".h": "cpp",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
}

SUFFIXES = frozenset(_SUFFIXES)
"""Every file suffix with a grammar (lower case, with the dot)."""

# Language ids that differ from the grammar's name: Emacs eglot derives them from mode names.
_LANGUAGE_IDS = {"js": "javascript", "tsx": "typescriptreact", "c++": "cpp"}


def language_for_path(path: str) -> str | None:
    """The grammar for a file, by its suffix (case-insensitive); None for other files."""
    return _SUFFIXES.get(PurePath(path).suffix.lower())


def language_of(language_id: str, path: str = "") -> str | None:
    """The grammar for an LSP language id, or failing that the path's suffix.

    The editor's id wins because it knows better than a suffix (a ``.h`` file it calls
    ``cpp``); the suffix covers files the editor has not opened.
    """
    if language_id in _GRAMMARS:
        return language_id
    if language_id in _LANGUAGE_IDS:
        return _LANGUAGE_IDS[language_id]
    return language_for_path(path) if path else None


@cache
def grammar(language: str) -> tree_sitter.Language:
    """The compiled grammar, loaded once per process (KeyError for an unknown name)."""
    return tree_sitter.Language(_GRAMMARS[language]())


@cache
def parser(language: str) -> tree_sitter.Parser:
    """A parser for the language, made once per process.

    Sharing it is safe: py-tree-sitter holds the GIL for the whole of ``parse``, so two
    threads never run the same parser at once, and we never pass an old tree for reuse.
    """
    return tree_sitter.Parser(grammar(language))


class ParsedText:
    """A text parsed with its grammar, with string offsets for tree-sitter's bytes."""

    def __init__(self, text: str, language: str) -> None:
        self.text = text
        self.language = language
        self.data = text.encode("utf-8", "surrogatepass")
        self.root = parser(language).parse(self.data).root_node
        self._ascii = len(self.data) == len(text)  # then bytes and indices are the same

    def offset(self, byte: int) -> int:
        """The string index of a byte offset."""
        if self._ascii:
            return byte
        return len(self.data[:byte].decode("utf-8", "surrogatepass"))

    def byte(self, offset: int) -> int:
        """The byte offset of a string index."""
        if self._ascii:
            return offset
        return len(self.text[:offset].encode("utf-8", "surrogatepass"))

    def node_text(self, node: tree_sitter.Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass")


def parse(text: str, language: str) -> ParsedText:
    return ParsedText(text, language)


def error_count(text: str, language: str) -> int:
    """How many ERROR or MISSING nodes the text has (0: it parses)."""
    return count_errors(parse(text, language).root)


def count_errors(root: tree_sitter.Node) -> int:
    """ERROR and MISSING nodes under ``root``, for callers that already hold a tree."""
    if not root.has_error:
        return 0
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        elif node.has_error:
            stack.extend(node.children)
    return count

"""The facts the workspace index keeps of one source file: its definitions and imports.

``extract_symbols`` parses once and runs one compiled tree-sitter query per language: only
the matches (definitions, imports, and the anonymous functions that hide local definitions)
reach Python, and node text is decoded only where a symbol needs it. Parsing is most of the
cost; the query's walk of the tree adds about a third to it, and Python's work grows with
the number of symbols, not with the size of the file.
"""

from __future__ import annotations

import attrs
import tree_sitter
from tree_sitter import Node

from quill.context import languages
from quill.context.definitions import FUNCTION_KINDS, Candidate, match_candidates
from quill.context.doc_comments import doc_comment, python_docstring
from quill.context.imports import Import, require_imports
from quill.context.outlines import (
    CLASS_OUTLINE_LINES,
    CONSTANT_LINES,
    FULL_FUNCTION_LINES,
    OUTLINE_CHARS,
    capped_outline,
    outline_of,
)
from quill.context.parsed_source import SIGNATURE_CHARS, Source, end_row, one_line
from quill.context.symbol_queries import AUXILIARY_CAPTURES, FAMILIES, compiled_query

__all__ = [
    "CLASS_OUTLINE_LINES",
    "CONSTANT_LINES",
    "FULL_FUNCTION_LINES",
    "OUTLINE_CHARS",
    "SIGNATURE_CHARS",
    "FileSymbols",
    "Import",
    "Symbol",
    "extract_symbols",
]


@attrs.frozen
class Symbol:
    """One definition, with the text a prompt or a hover shows of it."""

    name: str
    kind: str  # function, method, class, struct, interface, type, enum, constant, variable, macro
    signature: str  # the header, e.g. ``def mean(values: list[float]) -> float:``
    docstring: str | None  # doc comment or docstring, without comment markers / quotes
    start_line: int  # 0-based, inclusive
    end_line: int  # 0-based, inclusive
    container: str | None = None  # the enclosing class/impl/struct for methods and fields
    outline: str = ""  # a compact source excerpt for prompts (see extract_symbols)


@attrs.frozen
class FileSymbols:
    """What the index keeps of one file: its definitions and imports, in source order."""

    language: str
    symbols: tuple[Symbol, ...] = ()
    imports: tuple[Import, ...] = ()


def extract_symbols(text: str, language: str) -> FileSymbols:
    """The definitions and imports of ``text``, a file in ``language`` (a grammar name).

    Symbols come in source order; definitions local to a function body are left out, as an
    index wants what other code can name. Lines span the definition as written (with its
    decorators, ``export`` or ``template``). The signature is the header up to the body,
    on one line. The outline, dedented to the definition's own indentation and at most
    ``OUTLINE_CHARS`` long, is: for a function, all of it with its doc comment, or past
    ``FULL_FUNCTION_LINES`` lines its header, docstring and an elided body; for a class,
    struct, interface or enum, its header, docstring and one line per member; for the rest,
    its first ``CONSTANT_LINES`` lines.

    Never raises for a ``str``: text that does not parse yields what tree-sitter recovered,
    and a language without a grammar yields nothing.
    """
    family = FAMILIES.get(language)
    if family is None:
        return FileSymbols(language)
    data = text.encode("utf-8", "replace")  # a lone surrogate becomes "?"
    source = Source(data, family)
    root = languages.parser(language).parse(data).root_node
    candidates: list[Candidate] = []
    imports: list[Import] = []
    for _, captures in tree_sitter.QueryCursor(compiled_query(language)).matches(root):
        capture = next((name for name in captures if name not in AUXILIARY_CAPTURES), None)
        if capture is None:
            continue
        node = captures[capture][0]
        if capture == "import":
            imports.extend(family.imports(source, node))
        elif capture == "require":
            imports.extend(require_imports(source, node, captures))
        else:
            candidates.extend(match_candidates(source, capture, node, captures))
    built = [(c, _symbol(source, c, container)) for c, container in _nested(candidates)]
    return FileSymbols(language, _deduplicated(_without_prototypes(built)), tuple(imports))


def _nested(candidates: list[Candidate]) -> list[tuple[Candidate, str | None]]:
    """Each definition with its container, leaving out those local to a function or value.

    One pass over the matches in source order with a stack of the open scopes: cheaper than
    asking each node for its ancestors.
    """
    candidates.sort(key=lambda c: (c.anchor.start_byte, -c.anchor.end_byte))
    stack: list[tuple[int, int, str | None, bool]] = []  # start, end, container, opaque
    kept: list[tuple[Candidate, str | None]] = []
    for candidate in candidates:
        start, end = candidate.anchor.start_byte, candidate.anchor.end_byte
        while stack and stack[-1][1] <= start:
            stack.pop()
        # Several names from one declaration (``const a = 1, b = 2``) share its scope entry.
        same = bool(stack) and stack[-1][:2] == (start, end)
        depth = len(stack) - (2 if same else 1)
        outer = stack[depth] if depth >= 0 else None
        if outer is not None and outer[3]:
            continue
        container = candidate.container or (outer[2] if outer is not None else None)
        if candidate.scope != "none" and not same:
            name = candidate.name if candidate.scope == "container" else None
            stack.append((start, end, name, candidate.scope == "opaque"))
        if candidate.kind is not None:
            kept.append((candidate, container))
    return kept


def _without_prototypes(built: list[tuple[Candidate, Symbol]]) -> list[Symbol]:
    """The symbols, less the C prototypes of functions the file defines too.

    A prototype's doc comment then documents the definition, if that has none of its own:
    C code usually documents the declaration.
    """
    defined: set[tuple[str, str | None]] = set()
    docs: dict[tuple[str, str | None], str] = {}
    for candidate, symbol in built:
        key = (symbol.name, symbol.container)
        if not candidate.prototype:
            defined.add(key)
        elif symbol.docstring is not None:
            docs.setdefault(key, symbol.docstring)
    symbols = []
    for candidate, symbol in built:
        key = (symbol.name, symbol.container)
        if candidate.prototype and key in defined:
            continue
        if symbol.docstring is None and key in docs and not candidate.prototype:
            symbol = attrs.evolve(symbol, docstring=docs[key])
        symbols.append(symbol)
    return symbols


def _deduplicated(symbols: list[Symbol]) -> tuple[Symbol, ...]:
    """Without a second symbol of one name, line and container (``typedef struct a {} a``)."""
    seen: set[tuple[str, int, str | None]] = set()
    unique = []
    for symbol in symbols:
        key = (symbol.name, symbol.start_line, symbol.container)
        if symbol.name and key not in seen:
            seen.add(key)
            unique.append(symbol)
    return tuple(unique)


def _symbol(source: Source, candidate: Candidate, container: str | None) -> Symbol:
    """The symbol a kept candidate becomes: its lines, signature, docstring and outline."""
    kind = candidate.kind or ""
    if kind == "function" and container is not None:
        kind = "method"
    anchor, body = candidate.anchor, candidate.body
    start_line, end_line = anchor.start_point.row, end_row(anchor)
    doc: Node | None = None  # the docstring's statement, or the doc comment's first node
    if source.family.python:
        docstring, doc = python_docstring(source, body)
    else:
        docstring, doc = doc_comment(source, anchor)
    start = candidate.node if source.family.python else anchor  # a signature skips decorators
    if start_line == end_line and (body is None or kind not in FUNCTION_KINDS):
        # Most symbols (constants, macros, one-line types): one decode serves both texts.
        outline = source.text(anchor)
        header = source.text(start) if source.family.python else outline
        signature = one_line(header.rstrip().removesuffix(";"))
        if body is not None:  # ``enum Color { RED, GREEN }``: the header only
            signature = source.signature(start, anchor, body)
    else:
        signature = source.signature(start, anchor, body)
        outline = outline_of(source, candidate, kind, doc)
    return Symbol(
        name=candidate.name,
        kind=kind,
        signature=signature,
        docstring=docstring,
        start_line=start_line,
        end_line=end_line,
        container=container,
        outline=capped_outline(outline),
    )

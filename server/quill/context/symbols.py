"""The facts the workspace index keeps of one source file: its definitions and imports; and the
one extractor of definitions, which the index, hovers and code actions all read.

``extract_symbols`` parses once and runs one compiled tree-sitter query per language: only
the matches (definitions, imports, and the anonymous functions that hide local definitions)
reach Python, and node text is decoded only where a symbol needs it. Parsing is most of the
cost; the query's walk of the tree adds about a third to it, and Python's work grows with
the number of symbols, not with the size of the file.

``locate_symbols`` is the same extraction on a tree already parsed, local definitions
included, each symbol with the nodes it was read from: what ``syntax.Tree`` turns into
offsets for code actions and a hover in the current document. One extractor means one answer
to which nodes are definitions and what their names, signatures and docs are, wherever a
definition is looked up.
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
from quill.context.symbol_queries import AUXILIARY_CAPTURES, EXTRACTIONS, compiled_query

__all__ = [
    "CLASS_OUTLINE_LINES",
    "CONSTANT_LINES",
    "FULL_FUNCTION_LINES",
    "OUTLINE_CHARS",
    "SIGNATURE_CHARS",
    "FileSymbols",
    "Import",
    "LocatedSymbol",
    "Symbol",
    "extract_symbols",
    "locate_symbols",
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


@attrs.frozen
class LocatedSymbol:
    """A symbol with the nodes it was read from, for a reader that holds the parsed tree."""

    symbol: Symbol
    candidate: Candidate  # its definition node, the node as written (``anchor``), its body
    # Where its signature starts: the definition as written (with ``export`` or ``template``),
    # but past Python's decorators (a docstring goes under the ``def``, not under ``@cache``).
    start: Node


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
    if language not in EXTRACTIONS:
        return FileSymbols(language)
    data = text.encode("utf-8", "replace")  # a lone surrogate becomes "?"
    root = languages.parser(language).parse(data).root_node
    located, imports = _extract(data, root, language, with_locals=False)
    return FileSymbols(language, tuple(item.symbol for item in located), tuple(imports))


def locate_symbols(data: bytes, root: Node, language: str) -> list[LocatedSymbol]:
    """The definitions of a parsed file (``root``, parsed from ``data``), as
    ``extract_symbols`` reads them, and with them those local to a function body: in a
    document they can be named (and hovered, documented, explained) where they stand.
    """
    if language not in EXTRACTIONS:
        return []
    return _extract(data, root, language, with_locals=True)[0]


def _extract(
    data: bytes, root: Node, language: str, with_locals: bool
) -> tuple[list[LocatedSymbol], list[Import]]:
    """One query pass over a parsed file: its symbols, in source order, and its imports."""
    extraction = EXTRACTIONS[language]
    source = Source(data, extraction.family)
    candidates: list[Candidate] = []
    imports: list[Import] = []
    for _, captures in tree_sitter.QueryCursor(compiled_query(language)).matches(root):
        capture = next((name for name in captures if name not in AUXILIARY_CAPTURES), None)
        if capture is None:
            continue
        node = captures[capture][0]
        if capture == "import":
            imports.extend(extraction.imports(source, node))
        elif capture == "require":
            imports.extend(require_imports(source, node, captures))
        else:
            candidates.extend(match_candidates(source, capture, node, captures))
    located = []
    for candidate, container in _nested(candidates, with_locals):
        # A signature starts at the definition as written, but past Python's decorators.
        start = candidate.node if source.family.python else candidate.anchor
        symbol = _symbol(source, candidate, container, start)
        located.append(LocatedSymbol(symbol, candidate, start))
    return _deduplicated(_without_prototypes(located)), imports


def _nested(candidates: list[Candidate], with_locals: bool) -> list[tuple[Candidate, str | None]]:
    """Each definition with its container; those local to a function or value are left
    out unless ``with_locals``.

    One pass over the matches in source order with a stack of the open scopes: cheaper than
    asking each node for its ancestors.
    """
    candidates.sort(key=lambda c: (c.anchor.start_byte, -c.anchor.end_byte))
    stack: list[tuple[int, int, str | None, bool]] = []  # start, end, container, local inside
    kept: list[tuple[Candidate, str | None]] = []
    for candidate in candidates:
        start, end = candidate.anchor.start_byte, candidate.anchor.end_byte
        while stack and stack[-1][1] <= start:
            stack.pop()
        # Several names from one declaration (``const a = 1, b = 2``) share its scope entry.
        same = bool(stack) and stack[-1][:2] == (start, end)
        depth = len(stack) - (2 if same else 1)
        outer = stack[depth] if depth >= 0 else None
        local = outer is not None and outer[3]
        if local and (not with_locals or candidate.prototype):
            continue  # (a C++ "prototype" in a body declares a variable: ``Queue q(size);``)
        container = candidate.container or (outer[2] if outer is not None else None)
        if candidate.scope != "none" and not same:
            name = candidate.name if candidate.scope == "container" else None
            stack.append((start, end, name, local or candidate.scope == "opaque"))
        if candidate.kind is not None:
            kept.append((candidate, container))
    return kept


def _without_prototypes(located: list[LocatedSymbol]) -> list[LocatedSymbol]:
    """The symbols, less the C prototypes of functions the file defines too.

    A prototype's doc comment then documents the definition, if that has none of its own:
    C code usually documents the declaration.
    """
    if not any(item.candidate.prototype for item in located):
        return located  # (every language but C and C++)
    defined: set[tuple[str, str | None]] = set()
    docs: dict[tuple[str, str | None], str] = {}
    for item in located:
        key = (item.symbol.name, item.symbol.container)
        if not item.candidate.prototype:
            defined.add(key)
        elif item.symbol.docstring is not None:
            docs.setdefault(key, item.symbol.docstring)
    kept = []
    for item in located:
        key = (item.symbol.name, item.symbol.container)
        if item.candidate.prototype and key in defined:
            continue
        if item.symbol.docstring is None and key in docs and not item.candidate.prototype:
            item = attrs.evolve(item, symbol=attrs.evolve(item.symbol, docstring=docs[key]))
        kept.append(item)
    return kept


def _deduplicated(located: list[LocatedSymbol]) -> list[LocatedSymbol]:
    """Without a second symbol of one name, line and container (``typedef struct a {} a``)."""
    seen: set[tuple[str, int, str | None]] = set()
    unique = []
    for item in located:
        symbol = item.symbol
        key = (symbol.name, symbol.start_line, symbol.container)
        if symbol.name and key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _symbol(source: Source, candidate: Candidate, container: str | None, start: Node) -> Symbol:
    """The symbol a kept candidate becomes: its lines, signature (from ``start``), docstring
    and outline."""
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

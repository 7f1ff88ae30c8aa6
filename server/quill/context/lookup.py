"""Where a name used in a document is defined: what a hover shows of it.

A definition is looked for in the document itself (local definitions too: they can be named
there), then in the workspace index (in a file the document imports, or the only definition
of that name), then in the other open documents. Every place is read by the one extractor
(``symbols``), so a definition shows the same line, signature and doc comment wherever it
is found; only the source an explanation is written from differs: the definition as written
where its text is at hand, the index's outline otherwise.

Plain data in, plain data out: the LSP handler turns a request into an ``OpenDocument`` and
an offset, and the ``FoundDefinition`` into Markdown.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import attrs

from quill.context import languages, syntax
from quill.context.index import WorkspaceIndex
from quill.context.symbols import LocatedSymbol, Symbol


@attrs.frozen
class OpenDocument:
    """An open document, as a lookup reads it."""

    uri: str  # how the editor names it: the link to a definition found in it
    path: str  # its file-system path (its URI where it has none): the index's name for it
    language_id: str
    text: str


@attrs.frozen
class FoundDefinition:
    """A definition, with what a hover shows of it."""

    uri: str
    path: str  # as ``OpenDocument.path``
    language: str  # the grammar of the file it is in
    line: int  # 1-based, as a link shows it
    signature: str
    docstring: str | None
    source: str  # what an explanation is written from (and cached by)


def definition_at(
    document: OpenDocument,
    offset: int,
    index: WorkspaceIndex | None = None,
    others: Iterable[OpenDocument] = (),
) -> FoundDefinition | None:
    """The definition of the identifier at ``offset`` in ``document``, looked for in the
    document, then ``index``, then the ``others`` (read lazily, in order, only as far as
    needed): None where there is no identifier, or no definition of it to be sure of."""
    language = languages.language_of(document.language_id, document.path)
    if language is None:
        return None
    tree = syntax.parse(document.text, language)
    name = tree.identifier_at(offset)
    if name is None:
        return None
    return (
        _in_tree(document, tree, name)
        or (_in_index(index, document.path, language, name) if index is not None else None)
        or next(
            (
                found
                for other in others
                if other.uri != document.uri and (found := _in_document(other, name))
            ),
            None,
        )
    )


def _in_document(document: OpenDocument, name: str) -> FoundDefinition | None:
    language = languages.language_of(document.language_id, document.path)
    if language is None:
        return None
    return _in_tree(document, syntax.parse(document.text, language), name)


def _in_tree(document: OpenDocument, tree: syntax.Tree, name: str) -> FoundDefinition | None:
    """The first definition of ``name`` in the parsed document, in source order."""
    for located in tree.symbols():
        if located.symbol.name == name:
            source = _as_written(tree, located)
            return _found(document.uri, document.path, tree.language, located.symbol, source)
    return None


def _as_written(tree: syntax.Tree, located: LocatedSymbol) -> str:
    """The definition's text from its first line (decorators, ``export`` and all)."""
    anchor = located.candidate.anchor
    start = tree.offset(anchor.start_byte)
    return tree.text[tree.text.rfind("\n", 0, start) + 1 : tree.offset(anchor.end_byte)]


def _in_index(index: WorkspaceIndex, path: str, language: str, name: str) -> FoundDefinition | None:
    """From the index: a definition in a file ``path`` imports, else the only one (in
    ``language`` where the index no longer says)."""
    entries = index.lookup(name)
    if not entries:
        return None
    imported = index.imported_files(path)
    preferred = [entry for entry in entries if entry.path in imported]
    if not preferred and len(entries) > 1:
        return None  # several unrelated definitions: showing one would be a guess
    entry = (preferred or list(entries))[0]
    symbols = index.symbols_of(entry.path)
    source = entry.symbol.outline or entry.symbol.signature
    return _found(
        Path(entry.path).as_uri(),
        entry.path,
        symbols.language if symbols is not None else language,
        entry.symbol,
        source,
    )


def _found(uri: str, path: str, language: str, symbol: Symbol, source: str) -> FoundDefinition:
    return FoundDefinition(
        uri, path, language, symbol.start_line + 1, symbol.signature, symbol.docstring, source
    )

"""From an LSP request's document and position to the pipeline's immutable cursor."""

from __future__ import annotations

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from quill.cursor import Cursor
from quill.documents import Document, PositionOutOfRange
from quill.lsp.language_server import QuillLanguageServer


def document_for(ls: QuillLanguageServer, uri: str) -> Document:
    try:
        return ls.documents.get(uri)
    except KeyError as error:
        raise JsonRpcInvalidParams(str(error.args[0])) from error


def cursor_at(ls: QuillLanguageServer, uri: str, position: types.Position) -> Cursor:
    """The cursor snapshot, or ``InvalidParams`` for a closed document or a line past
    the end (a request never gets a made-up answer for a place that does not exist)."""
    document = document_for(ls, uri)
    try:
        offset = document.offset_at(position, ls.documents.encoding)
    except PositionOutOfRange as error:
        raise JsonRpcInvalidParams(str(error)) from error
    return Cursor(
        path=to_fs_path(uri) or uri,
        language_id=document.language_id,
        text=document.text,
        offset=offset,
    )


def position_of(ls: QuillLanguageServer, cursor: Cursor, uri: str) -> types.Position:
    """The cursor as an LSP position (normalised: a character past the line's end is
    reported back as the line's end)."""
    return document_for(ls, uri).position_at(cursor.offset, ls.documents.encoding)

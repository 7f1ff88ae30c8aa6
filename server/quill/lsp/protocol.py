"""Quill's protocol layer: pygls' JSON-RPC handling with Quill's own document store.

Documents live in :class:`quill.documents.DocumentStore`, which splits lines the way LSP
does; pygls' built-in store is bypassed so there is one copy of each text, not two that
can disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol, lsp_method

if TYPE_CHECKING:
    from quill.lsp.language_server import QuillLanguageServer


class QuillProtocol(LanguageServerProtocol):
    _server: QuillLanguageServer

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        self._server.documents.open(params.text_document)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        if params.text_document.uri in self._server.documents:
            self._server.documents.change(params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        self._server.documents.close(params.text_document.uri)

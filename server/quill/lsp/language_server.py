"""The Quill language server's state: documents, settings and the completion service."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from quill import __version__
from quill.documents import DocumentStore
from quill.lsp.features.status import StatusNotifier
from quill.lsp.protocol import QuillProtocol
from quill.service import CompletionService


class QuillLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "quill",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=QuillProtocol,
        )
        self.documents = DocumentStore()
        self.initialization_options: Any = None
        self.status = StatusNotifier(lambda method, params: self.protocol.notify(method, params))
        self.completions = CompletionService(
            show_error=self.show_error, on_status=self.status.update
        )

    def show_error(self, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(types.MessageType.Error, message))

    def show_warning(self, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, message))

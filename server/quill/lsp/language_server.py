"""The Quill language server's state: documents, settings and the completion service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from quill import __version__
from quill.actions.explain import HoverExplanations
from quill.completion.service import CompletionService
from quill.context.snippets import Buffer
from quill.context.workspace import WorkspaceContext
from quill.documents import DocumentStore
from quill.lsp.client_features import ClientFeatures
from quill.lsp.document_events import DocumentEvents
from quill.lsp.features.status import StatusNotifier
from quill.lsp.protocol import QuillProtocol

if TYPE_CHECKING:
    from pygls.server import ServerErrors


class QuillLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "quill",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=QuillProtocol,
        )
        self.documents = DocumentStore()
        self.document_events = DocumentEvents()  # subscribed to in ``quill.lsp.server``
        self.initialization_options: Any = None
        self.status = StatusNotifier(lambda method, params: self.protocol.notify(method, params))
        self.completions = CompletionService(
            show_error=self.show_error, on_status=self.status.update
        )
        self.hover_explanations = HoverExplanations()
        self.workspace_context: WorkspaceContext | None = None  # from ``initialize`` on
        self.client = ClientFeatures()  # what the client declared, from ``initialize`` on

    def open_buffers(self) -> list[Buffer]:
        """The open documents, as the context engine reads them."""
        buffers = []
        for uri in self.documents.uris():
            document = self.documents.get(uri)
            path = to_fs_path(uri) or uri
            buffers.append(Buffer(path, document.version, document.text))
        return buffers

    def show_error(self, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(types.MessageType.Error, message))

    def show_warning(self, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, message))

    def report_server_error(self, error: Exception, source: ServerErrors) -> None:
        """A message that is not JSON gets a ``ParseError`` answer, not a pop-up: a
        broken client should not flood the user with "Error in server" windows."""
        if isinstance(error, ValueError):  # json.JSONDecodeError, UnicodeDecodeError
            assert isinstance(self.protocol, QuillProtocol)
            self.protocol.reply_parse_error(error)
            return
        super().report_server_error(error, source)

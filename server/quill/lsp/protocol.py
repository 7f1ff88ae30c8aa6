"""Quill's protocol layer: pygls' JSON-RPC handling with Quill's own document store, and
the guarantee that every request gets exactly one answer.

Documents live in :class:`quill.documents.DocumentStore`, which splits lines the way LSP
does; pygls' built-in store is bypassed so there is one copy of each text, not two that
can disagree.

pygls 2 structures each message inside ``json.loads`` (``structure_message`` is the
``object_hook``); when a request's params do not fit its type, the exception escapes the
reader loop and nobody answers, so the editor waits forever. Here an unreadable message
becomes an :class:`Unreadable` value that :meth:`QuillProtocol.handle_message` answers
with ``InvalidParams`` (or ``InvalidRequest``), using the id from the raw message. The
same place answers requests sent before ``initialize`` (``ServerNotInitialized``) and
after ``shutdown`` (``InvalidRequest``), which pygls would drop without a word.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import attrs
from cattrs import transform_error
from cattrs.errors import ClassValidationError
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcMethodNotFound
from pygls.protocol import LanguageServerProtocol, lsp_method

from quill.documents import DocumentStore
from quill.lsp.document_events import DocumentEvents

log = logging.getLogger(__name__)

# Methods a client may send before the server is initialized (LSP 3.17, "initialize").
_BEFORE_INITIALIZE = frozenset({types.INITIALIZE, types.EXIT})


@attrs.frozen
class Unreadable:
    """A JSON object that claimed to be a JSON-RPC message but did not fit its type."""

    raw: dict[str, Any]
    detail: str


def request_id(message: object) -> int | str | None:
    """The id of a request, read from a structured or a raw message; ``None`` when the
    message is no request or its id is not one JSON-RPC allows (an int or a string)."""
    raw = message.raw if isinstance(message, Unreadable) else message
    if isinstance(raw, dict):
        if "method" not in raw:
            return None
        msg_id = raw.get("id")
    else:
        if not hasattr(raw, "method"):
            return None
        msg_id = getattr(raw, "id", None)
    if isinstance(msg_id, bool) or not isinstance(msg_id, int | str):
        return None
    return msg_id


def _method(message: object) -> object:
    raw = message.raw if isinstance(message, Unreadable) else message
    return raw.get("method") if isinstance(raw, dict) else getattr(raw, "method", None)


def _describe(error: BaseException) -> str:
    cause = error.__cause__
    if isinstance(cause, ClassValidationError):
        return "; ".join(transform_error(cause))[:500]
    return str(cause or error)[:500]


class DocumentKeeper(Protocol):
    """What the protocol needs of its server: the one document store, and whom to tell."""

    documents: DocumentStore
    document_events: DocumentEvents


class QuillProtocol(LanguageServerProtocol):
    _server: DocumentKeeper  # type: ignore[assignment]  # a LanguageServer that keeps documents

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._initialize_received = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            return Unreadable(data, _describe(error))

    def handle_message(self, message: Any) -> None:
        msg_id = request_id(message)
        method = _method(message)
        if isinstance(message, Unreadable):
            if msg_id is None:
                log.warning("ignoring an unreadable message: %s", message.detail)
            elif not isinstance(method, str):
                self._reply_error(msg_id, types.ErrorCodes.InvalidRequest, "no method name")
            elif not self._initialize_received and method not in _BEFORE_INITIALIZE:
                self._reply_not_initialized(msg_id)
            elif not self._knows(method):
                self._reply_error(msg_id, types.ErrorCodes.MethodNotFound, method[:200])
            else:
                detail = f"invalid params for {method}: {message.detail}"
                self._reply_error(msg_id, types.ErrorCodes.InvalidParams, detail)
            return
        if getattr(message, "jsonrpc", None) != self.VERSION:
            log.warning("ignoring a message that is not JSON-RPC 2.0: %.200r", message)
            if msg_id is not None:
                self._reply_error(msg_id, types.ErrorCodes.InvalidRequest, "not JSON-RPC 2.0")
            return
        if msg_id is not None and isinstance(method, str):
            if method == types.INITIALIZE:
                if self._initialize_received:
                    self._reply_error(
                        msg_id, types.ErrorCodes.InvalidRequest, "initialize was already sent"
                    )
                    return
                self._initialize_received = True
            elif not self._initialize_received:
                self._reply_not_initialized(msg_id)
                return
            elif self._shutdown:
                self._reply_error(
                    msg_id, types.ErrorCodes.InvalidRequest, "the server is shutting down"
                )
                return
        elif not self._initialize_received and method not in _BEFORE_INITIALIZE:
            log.warning("ignoring %r: the server is not initialized", method)
            return
        super().handle_message(message)

    def _knows(self, method: str) -> bool:
        try:
            self._get_handler(method)
        except JsonRpcMethodNotFound:
            return False
        return True

    def reply_parse_error(self, error: Exception) -> None:
        """Answer a message that is not JSON at all; its id cannot be known, so the
        answer carries ``"id": null`` as JSON-RPC 2.0 prescribes."""
        log.warning("ignoring a message that is not JSON: %s", error)
        self._send_data(
            {
                "jsonrpc": self.VERSION,
                "id": None,
                "error": {"code": types.ErrorCodes.ParseError.value, "message": str(error)[:200]},
            }
        )

    def _reply_not_initialized(self, msg_id: int | str) -> None:
        self._reply_error(
            msg_id, types.ErrorCodes.ServerNotInitialized, "initialize must come first"
        )

    def _reply_error(self, msg_id: int | str, code: types.ErrorCodes, message: str) -> None:
        self._send_response(msg_id, None, types.ResponseError(code=code.value, message=message))

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        self._server.documents.open(params.text_document)
        self._server.document_events.opened(params.text_document.uri)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        if params.text_document.uri in self._server.documents:
            self._server.documents.change(params)
            self._server.document_events.changed(params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        self._server.documents.close(params.text_document.uri)
        self._server.document_events.closed(params.text_document.uri)

"""The server's log, sent to the client as ``window/logMessage``.

Editors that start a language server read its stderr, and Neovim writes every stderr chunk
to ``lsp.log`` as an ERROR line, whatever it says ("INFO quill.completion.service: ..."): a healthy
session then looks broken to anyone who opens the log. ``window/logMessage`` carries the
level instead (Neovim 0.11 logs it at that level; VS Code shows it in the server's output
channel). So once the client has sent ``initialize`` (the protocol allows log messages from
then on), records go to the client, and while the client reads our stderr (stdio, or the
``--socket`` / ``--pipe`` transports of a client that started us) they go nowhere else:
stderr is left for what cannot be a message, such as a crash's traceback. Records before
``initialize`` and after ``exit`` go to the handlers ``quill serve`` configured (stderr).
Over ``--tcp`` nobody reads our stderr but a person at a terminal, who keeps it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from lsprotocol import types
from pygls.io_ import StdoutWriter

from quill.lsp.language_server import QuillLanguageServer

# The name and the message: the client adds the time and shows the level.
_FORMAT = "%(name)s: %(message)s"


def message_type(level: int) -> types.MessageType:
    """The LSP message type of a logging level. DEBUG is ``Log``, not 3.18's ``Debug``:
    clients older than 3.18 (Neovim 0.11 among them) know no ``Debug``."""
    if level >= logging.ERROR:
        return types.MessageType.Error
    if level >= logging.WARNING:
        return types.MessageType.Warning
    if level >= logging.INFO:
        return types.MessageType.Info
    return types.MessageType.Log


class LogMessageHandler(logging.Handler):
    """Forwards records to the client once it is initialized; hands the others to
    ``fallback`` (the handlers that were on the root logger: stderr)."""

    def __init__(self, server: QuillLanguageServer, fallback: list[logging.Handler]) -> None:
        super().__init__()
        self.server = server
        self.fallback = fallback
        self.setFormatter(logging.Formatter(_FORMAT))
        self._closed = False  # after ``exit``, or once the connection failed
        self._loop: asyncio.AbstractEventLoop | None = None  # the server's, once seen
        # A record logged while one is being sent (pygls logs send failures) must not be
        # sent in turn: it goes to the fallback.
        self._sending = threading.local()

    def detach(self) -> None:
        """No more messages to the client (it sent ``exit``, or is gone)."""
        self._closed = True

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._sending, "active", False) or not self._connected():
            self._to_fallback(record)
            return
        try:
            message = self.format(record)
        except Exception:
            self.handleError(record)
            return
        params = types.LogMessageParams(message_type(record.levelno), message)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:  # the server's own thread
            self._loop = loop
            self._send(params, record)
        elif self._loop is not None and not self._loop.is_closed():
            # pygls writes from the event loop's thread only; a worker thread's record
            # waits for it.
            self._loop.call_soon_threadsafe(self._send, params, record)
        else:
            self._to_fallback(record)
            return
        if not self._client_reads_stderr():
            self._to_fallback(record)

    def _send(self, params: types.LogMessageParams, record: logging.LogRecord) -> None:
        if self._closed:
            self._to_fallback(record)
            return
        self._sending.active = True
        try:
            self.server.window_log_message(params)
        except Exception:
            # The connection is gone (pygls re-raises a broken pipe): what is left to
            # say goes to stderr.
            self.detach()
            self._to_fallback(record)
        finally:
            self._sending.active = False

    def _connected(self) -> bool:
        """Whether the client may get messages: ``initialize`` has arrived (pygls made
        the workspace then) and ``exit`` has not."""
        if self._closed:
            return False
        try:
            self.server.workspace  # noqa: B018 - raises before ``initialize``
        except RuntimeError:
            return False
        return True

    def _client_reads_stderr(self) -> bool:
        """stdio, ``--socket`` and ``--pipe`` share pygls' stream writer, and in each
        the client started the server and reads its stderr; ``--tcp`` has an asyncio
        stream writer and a person's terminal on stderr."""
        return isinstance(self.server.protocol.writer, StdoutWriter)

    def _to_fallback(self, record: logging.LogRecord) -> None:
        for handler in self.fallback:
            if record.levelno >= handler.level:
                handler.handle(record)


def forward_to_client(server: QuillLanguageServer) -> LogMessageHandler:
    """Route the process's log through ``window/logMessage`` from ``initialize`` to
    ``exit``: the root logger's handlers become the fallback of one that forwards.

    Its level stays what ``quill serve --log-level`` set; Python's warnings are logged
    too (they would otherwise be written to stderr).
    """
    root = logging.getLogger()
    fallback = [h for h in root.handlers if not isinstance(h, LogMessageHandler)]
    if not fallback and logging.lastResort is not None:
        fallback = [logging.lastResort]  # what logging would have used without handlers
    handler = LogMessageHandler(server, fallback)
    root.handlers = [handler]
    logging.captureWarnings(True)

    def on_exit(ls: QuillLanguageServer, params: Any) -> None:
        handler.detach()

    server.feature(types.EXIT)(on_exit)
    return handler

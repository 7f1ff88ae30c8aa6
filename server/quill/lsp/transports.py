"""How an editor reaches the server: the transports ``quill serve`` accepts.

Editors start language servers with the flags of vscode-languageclient: ``--stdio``, or
``--socket=PORT`` / ``--pipe=NAME`` where the *client* listens and the server connects
to it, and ``--node-ipc``, which only a Node.js server can speak. ``--tcp`` is ours: the
server listens, for a client that connects (tests, a remote editor).
"""

from __future__ import annotations

import socket
import sys
from typing import BinaryIO

import attrs

from quill.lsp.language_server import QuillLanguageServer


class UnsupportedTransport(Exception):
    """The client asked for a transport this server cannot speak."""


@attrs.frozen
class Transport:
    """One of: stdio (the default), ``tcp`` (listen), ``socket`` or ``pipe`` (connect)."""

    tcp: str | None = None  # HOST:PORT to listen on
    socket_port: int | None = None  # the client listens on 127.0.0.1:PORT
    pipe: str | None = None  # the client listens on this Unix socket (or Windows pipe)


def serve(server: QuillLanguageServer, transport: Transport) -> None:
    if transport.tcp:
        host, _, port = transport.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    elif transport.socket_port is not None:
        _serve_connection(server, socket.create_connection(("127.0.0.1", transport.socket_port)))
    elif transport.pipe is not None:
        _serve_connection(server, _connect_pipe(transport.pipe))
    else:
        server.start_io()


def _connect_pipe(name: str) -> socket.socket:
    if sys.platform == "win32":
        raise UnsupportedTransport(
            f"--pipe={name}: named pipes are not supported on Windows; use --stdio"
        )
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(name)
    return connection


def _serve_connection(server: QuillLanguageServer, connection: socket.socket) -> None:
    """The same message loop as stdio, over a connected socket's two directions."""
    with connection:
        reader: BinaryIO = connection.makefile("rb")
        writer: BinaryIO = connection.makefile("wb")
        server.start_io(reader, writer)

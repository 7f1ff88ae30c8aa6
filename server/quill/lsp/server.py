"""The routing table: which handler answers which LSP method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lsprotocol import types

from quill.lsp.features import commands, completion, configuration, inline_completion, lifecycle
from quill.lsp.language_server import QuillLanguageServer


def create_server() -> QuillLanguageServer:
    server = QuillLanguageServer()
    routes: list[tuple[str, Callable[..., Any], Any]] = [
        (types.INITIALIZE, lifecycle.on_initialize, None),
        (types.INITIALIZED, lifecycle.on_initialized, None),
        (types.SHUTDOWN, lifecycle.on_shutdown, None),
        (types.WORKSPACE_DID_CHANGE_CONFIGURATION, configuration.on_did_change, None),
        (
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            inline_completion.on_inline_completion,
            types.InlineCompletionOptions(),
        ),
        (types.TEXT_DOCUMENT_COMPLETION, completion.on_completion, completion.OPTIONS),
    ]
    for method, handler, options in routes:
        server.feature(method, options)(handler)
    for name, command in commands.COMMANDS.items():
        server.command(name)(command)
    return server

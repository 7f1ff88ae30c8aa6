"""The routing table: which handler answers which LSP method, and which feature follows
the documents' events."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from lsprotocol import types

from quill.lsp import log_messages
from quill.lsp.features import (
    code_actions,
    commands,
    configuration,
    explain,
    hover,
    inline_completion,
    lifecycle,
    warming,
    workspace_index,
)
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
        (types.TEXT_DOCUMENT_CODE_ACTION, code_actions.on_code_action, code_actions.OPTIONS),
        (types.CODE_ACTION_RESOLVE, code_actions.on_resolve, None),
        (types.TEXT_DOCUMENT_HOVER, hover.on_hover, None),
        (
            types.TEXT_DOCUMENT_DID_SAVE,
            workspace_index.on_did_save,
            types.SaveOptions(include_text=False),
        ),
        (
            types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            workspace_index.on_did_change_watched_files,
            None,
        ),
    ]
    for method, handler, options in routes:
        server.feature(method, options)(handler)
    server.document_events.subscribe(
        opened=partial(workspace_index.document_opened, server),
        changed=partial(workspace_index.document_changed, server),
        closed=partial(workspace_index.document_closed, server),
    )
    server.document_events.subscribe(
        opened=partial(warming.document_opened, server),
        closed=partial(warming.document_closed, server),
    )
    extra_commands: dict[str, Callable[..., Any]] = {
        code_actions.APPLY_COMMAND: code_actions.apply_action,
        "quill.explain": explain.explain_command,
    }
    for name, command in {**commands.COMMANDS, **extra_commands}.items():
        server.command(name)(command)
    # The log goes to the client as window/logMessage, not to stderr (Neovim logs every
    # stderr line as an ERROR).
    log_messages.forward_to_client(server)
    return server

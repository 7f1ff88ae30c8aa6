"""What the client can do, reduced once at ``initialize`` into one typed object.

LSP client capabilities are a deep tree of optional fields, and every editor fills a
different part of it: VS Code sends nearly everything; Neovim 0.11 and Helix have no inline
completion; Neovim takes no versioned edits, nor (on Linux) file watchers. Features read the
few answers they need from ``ClientFeatures`` instead of walking that tree each on its own
(and each getting a different ``None`` wrong).
"""

from __future__ import annotations

from typing import Literal

import attrs
from lsprotocol import types

# Whether completion items carry the model's suggestion: "auto" offers them only to clients
# without inline completion, where they are the only way to show a suggestion.
CompletionItems = Literal["auto", "on", "off"]


@attrs.frozen
class ClientFeatures:
    """The answers features need; the defaults are a client that declared nothing."""

    name: str = ""  # clientInfo.name, for the log
    inline_completion: bool = False
    # Code actions whose edit is computed when chosen (codeAction/resolve with "edit").
    code_action_resolve: bool = False
    # WorkspaceEdit.documentChanges: versioned edits, and file creation.
    document_changes: bool = False
    work_done_progress: bool = False
    # Pull settings with workspace/configuration after a didChangeConfiguration.
    configuration: bool = False
    # Register a watcher for files changed outside the editor.
    watched_files_registration: bool = False

    @classmethod
    def from_capabilities(
        cls, capabilities: types.ClientCapabilities, client_info: types.ClientInfo | None = None
    ) -> ClientFeatures:
        text = capabilities.text_document
        workspace = capabilities.workspace
        window = capabilities.window
        code_action = text.code_action if text else None
        resolve = code_action.resolve_support if code_action else None
        edit = workspace.workspace_edit if workspace else None
        watched = workspace.did_change_watched_files if workspace else None
        return cls(
            name=client_info.name if client_info else "",
            inline_completion=text is not None and text.inline_completion is not None,
            code_action_resolve=resolve is not None and "edit" in resolve.properties,
            document_changes=bool(edit and edit.document_changes),
            work_done_progress=bool(window and window.work_done_progress),
            configuration=bool(workspace and workspace.configuration),
            watched_files_registration=bool(watched and watched.dynamic_registration),
        )

    def offers_completion_items(self, setting: CompletionItems) -> bool:
        """Whether to register ``textDocument/completion``. A client showing ghost text
        and a completion item for the same suggestion makes the user choose twice, and
        VS Code would ask the model twice per keystroke."""
        if setting == "auto":
            return not self.inline_completion
        return setting == "on"

"""initialize / initialized / shutdown: settings, encodings, and warming the model up."""

from __future__ import annotations

from lsprotocol import types

from quill.documents import PositionEncoding
from quill.lsp.features import workspace_index
from quill.lsp.features.configuration import apply_settings
from quill.lsp.language_server import QuillLanguageServer


def on_initialize(ls: QuillLanguageServer, params: types.InitializeParams) -> None:
    # pygls has negotiated the encoding (the client's first choice among UTF-8/16/32).
    ls.documents.encoding = PositionEncoding.from_lsp(ls.workspace.position_encoding)
    ls.initialization_options = params.initialization_options
    apply_settings(ls)
    workspace_index.attach(ls, params)


def on_initialized(ls: QuillLanguageServer, params: types.InitializedParams) -> None:
    """Start the embedded host now, so the first completion does not wait for a model
    to load, and the workspace scan. The first ``quill/status`` goes out here: not before
    ``initialize`` has been answered."""
    if ls.completions.settings.enable and not ls.completions.settings.server_url:
        ls.completions.start_embedded_host()
    ls.completions.report_status()
    if ls.workspace_context is not None:
        ls.workspace_context.spawn(workspace_index.start(ls))


async def on_shutdown(ls: QuillLanguageServer, params: None) -> None:
    workspace_index.shutdown(ls)
    await ls.completions.aclose()

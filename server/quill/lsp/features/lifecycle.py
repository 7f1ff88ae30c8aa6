"""initialize / initialized / shutdown: what the client can do, settings, encodings, the
features offered, and warming the model up."""

from __future__ import annotations

import logging

from lsprotocol import types

from quill.documents import PositionEncoding
from quill.lsp import client_process
from quill.lsp.client_features import ClientFeatures
from quill.lsp.features import completion, workspace_index
from quill.lsp.features.configuration import apply_settings
from quill.lsp.language_server import QuillLanguageServer

log = logging.getLogger(__name__)


def on_initialize(ls: QuillLanguageServer, params: types.InitializeParams) -> None:
    """Runs before pygls computes the server's capabilities from the registered features,
    so features that depend on the client are registered here."""
    # pygls has negotiated the encoding (the client's first choice among UTF-8/16/32).
    ls.documents.encoding = PositionEncoding.from_lsp(ls.workspace.position_encoding)
    ls.client = ClientFeatures.from_capabilities(params.capabilities, params.client_info)
    log.info("client: %s", ls.client)
    ls.initialization_options = params.initialization_options
    apply_settings(ls)
    if ls.client.offers_completion_items(ls.completions.settings.completion_items):
        ls.feature(types.TEXT_DOCUMENT_COMPLETION, completion.OPTIONS)(completion.on_completion)
    if params.process_id is not None:
        client_process.exit_when_gone(params.process_id)
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

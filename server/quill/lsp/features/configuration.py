"""Settings from ``initializationOptions`` and ``workspace/didChangeConfiguration``.

A configuration change is laid over the initialization options rather than replacing
them: clients often announce a change with an empty object, which must not wipe the
server URL the user gave at start-up.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from quill.lsp.language_server import QuillLanguageServer
from quill.settings import settings_from_options


def apply_settings(ls: QuillLanguageServer, changed: Any = None) -> None:
    """Use the valid part of the settings; name each invalid key once to the user."""
    settings, problems = settings_from_options(ls.initialization_options, changed)
    ls.completions.settings = settings
    if problems:
        ls.show_warning("Quill: ignoring invalid settings: " + "; ".join(problems))


async def on_did_change(
    ls: QuillLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    if params.settings is not None:
        apply_settings(ls, params.settings)
        ls.completions.report_status()
        return
    # Clients that follow the pull model send no settings, only the news of a change.
    if ls.client.configuration:
        values = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="quill")])
        )
        apply_settings(ls, values[0] if values else None)
        ls.completions.report_status()

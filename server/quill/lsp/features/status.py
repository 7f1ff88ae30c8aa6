"""``quill/status``: a notification that tells the editor what Quill is doing.

Editors show it in a status bar item (the VS Code extension does), so a user can tell a
model that is thinking from one that is down or switched off. The server sends
``{"state": "ready" | "working" | "warming" | "error" | "disabled", "message"?: str}``
when a completion starts, ends or fails, while the embedded host loads its model
("warming"), and when the settings turn suggestions on or off. Only
changes are sent: typing fast does not flood the client with identical notifications.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quill.completion.service import StatusState

METHOD = "quill/status"


def status_params(state: StatusState, message: str | None = None) -> dict[str, str]:
    """The notification's params; ``message`` is left out when there is none."""
    params: dict[str, str] = {"state": state}
    if message is not None:
        params["message"] = message
    return params


class StatusNotifier:
    """Sends ``quill/status`` when the state or its message changes."""

    def __init__(self, notify: Callable[[str, Any], None]) -> None:
        self._notify = notify
        self._last: dict[str, str] | None = None

    def update(self, state: StatusState, message: str | None = None) -> None:
        params = status_params(state, message)
        if params != self._last:
            self._last = params
            self._notify(METHOD, params)

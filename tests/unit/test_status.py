"""``quill/status`` params, and that only changes are sent."""

from __future__ import annotations

from typing import Any

from quill.completion.service import StatusState
from quill.lsp.features.status import METHOD, StatusNotifier, status_params


def test_params_leave_out_a_missing_message() -> None:
    assert status_params("ready") == {"state": "ready"}
    assert status_params("error", "down") == {"state": "error", "message": "down"}


def test_only_changes_are_sent() -> None:
    sent: list[tuple[str, Any]] = []
    notifier = StatusNotifier(lambda method, params: sent.append((method, params)))
    states: list[StatusState] = ["working", "working", "ready", "ready", "working"]
    for state in states:
        notifier.update(state)
    notifier.update("error", "a")
    notifier.update("error", "b")
    assert [params for _, params in sent] == [
        {"state": "working"},
        {"state": "ready"},
        {"state": "working"},
        {"state": "error", "message": "a"},
        {"state": "error", "message": "b"},
    ]
    assert {method for method, _ in sent} == {METHOD}

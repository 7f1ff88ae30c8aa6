"""Document events: the protocol layer publishes each document that opens, changes or
closes, after its store has taken the change; features that follow the documents (the
workspace index, warming the model's cache) subscribe when the server is created.

So the protocol layer knows no feature, and a feature that needs the events needs no
change to the protocol.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from lsprotocol import types

OnOpened = Callable[[str], None]  # the document's uri
OnChanged = Callable[[types.DidChangeTextDocumentParams], None]
OnClosed = Callable[[str], None]  # the document's uri


@attrs.define
class DocumentEvents:
    """The subscribers to each event, called in the order they subscribed."""

    _opened: list[OnOpened] = attrs.field(factory=list)
    _changed: list[OnChanged] = attrs.field(factory=list)
    _closed: list[OnClosed] = attrs.field(factory=list)

    def subscribe(
        self,
        opened: OnOpened | None = None,
        changed: OnChanged | None = None,
        closed: OnClosed | None = None,
    ) -> None:
        if opened is not None:
            self._opened.append(opened)
        if changed is not None:
            self._changed.append(changed)
        if closed is not None:
            self._closed.append(closed)

    def opened(self, uri: str) -> None:
        for handler in self._opened:
            handler(uri)

    def changed(self, params: types.DidChangeTextDocumentParams) -> None:
        for handler in self._changed:
            handler(params)

    def closed(self, uri: str) -> None:
        for handler in self._closed:
            handler(uri)

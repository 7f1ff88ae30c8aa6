"""Document events that matter to completions: an opened document's prompt is prefilled
on the model server before the first keystroke, a closed one's suggestions are dropped.

LSP never says where the cursor is until a request comes, so an opened document is
warmed at its end, and only when it is shorter than the prompt window: then that prompt
holds the whole file, and every later prompt in it reuses it. In a longer file the end is
one place among many, and warming it would only keep the model server busy when typing
starts elsewhere; there the place where typing starts is warmed (see
``CompletionService.complete``).
"""

from __future__ import annotations

from pygls.uris import to_fs_path

from quill.cursor import Cursor
from quill.lsp.language_server import QuillLanguageServer


def document_opened(ls: QuillLanguageServer, uri: str) -> None:
    document = ls.documents.get(uri)
    if len(document.text) > ls.completions.settings.max_prefix_chars:
        return
    path = to_fs_path(uri) or uri
    cursor = Cursor(path, document.language_id, document.text, len(document.text))
    ls.completions.warm(uri, cursor)


def document_closed(ls: QuillLanguageServer, uri: str) -> None:
    ls.completions.forget(uri)

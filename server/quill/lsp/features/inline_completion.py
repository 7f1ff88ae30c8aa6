"""``textDocument/inlineCompletion`` (LSP 3.18): ghost text at the cursor."""

from __future__ import annotations

from lsprotocol import types

from quill.lsp.language_server import QuillLanguageServer
from quill.lsp.snapshot import cursor_at, position_of


async def on_inline_completion(
    ls: QuillLanguageServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList:
    uri = params.text_document.uri
    cursor = cursor_at(ls, uri, params.position)
    # Typing triggers requests automatically: wait for a pause, and take the likeliest
    # suggestion only. An explicit request (a keybinding: the next suggestion) is answered
    # at once, with others to cycle through.
    typing = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
    count = 1 if typing else ls.completions.settings.suggestions
    suggestion = await ls.completions.complete(uri, cursor, debounce=typing, count=count)
    if suggestion is None:
        return types.InlineCompletionList(items=[])
    position = position_of(ls, cursor, uri)
    return types.InlineCompletionList(
        items=[
            types.InlineCompletionItem(insert_text=text, range=types.Range(position, position))
            for text in suggestion.texts()
        ]
    )

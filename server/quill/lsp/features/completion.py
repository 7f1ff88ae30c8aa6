"""``textDocument/completion``: the model's suggestion as a completion item, for clients
without inline completion (Neovim 0.11's ``vim.lsp.completion``, Helix, older LSP4IJ).
Registered at ``initialize`` only for those, or where the ``completionItems`` setting asks.
"""

from __future__ import annotations

import re

from lsprotocol import types

from quill.lsp.language_server import QuillLanguageServer
from quill.lsp.snapshot import cursor_at, position_of

OPTIONS = types.CompletionOptions(resolve_provider=False)

_WORD_BEFORE_CURSOR = re.compile(r"[\w$]*$")
_LABEL_CHARS = 60


async def on_completion(
    ls: QuillLanguageServer, params: types.CompletionParams
) -> types.CompletionList:
    uri = params.text_document.uri
    cursor = cursor_at(ls, uri, params.position)
    suggestion = await ls.completions.complete(uri, cursor, debounce=True, kind="item")
    # Incomplete: the suggestion depends on every character typed, so the client must
    # ask again rather than filter this list.
    if suggestion is None:
        return types.CompletionList(is_incomplete=True, items=[])

    # Clients filter items by the word being typed, so the edit starts at that word and
    # repeats it: the item's text begins with what the user has already typed.
    word = _WORD_BEFORE_CURSOR.search(cursor.line_prefix)
    typed = word.group() if word else ""
    end = position_of(ls, cursor, uri)
    start = types.Position(end.line, end.character - ls.documents.encoding.units(typed))
    new_text = typed + suggestion.text
    first_line = new_text.strip().splitlines()[0] if new_text.strip() else new_text
    item = types.CompletionItem(
        label=first_line[:_LABEL_CHARS] + ("…" if len(first_line) > _LABEL_CHARS else ""),
        kind=types.CompletionItemKind.Text,
        detail="Quill",
        documentation=types.MarkupContent(
            types.MarkupKind.Markdown, f"```{cursor.language_id}\n{new_text}\n```"
        ),
        filter_text=new_text,
        # Last among the client's items and never preselected: the language's own
        # completions (a name, a keyword) are what Enter should take.
        sort_text="~quill",
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(types.Range(start, end), new_text),
    )
    return types.CompletionList(is_incomplete=True, items=[item])

"""``workspace/executeCommand`` commands, for users and for bug reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from quill.lsp.language_server import QuillLanguageServer
from quill.lsp.snapshot import cursor_at, document_for

_converter = cattrs.Converter()


def document_state(ls: QuillLanguageServer, uri: str) -> dict[str, Any]:
    """The text and version Quill holds for a document: what to attach to a bug report
    when a suggestion looks like it was made for different code."""
    document = document_for(ls, uri)
    return {"uri": uri, "version": document.version, "text": document.text}


def last_prompt(ls: QuillLanguageServer) -> dict[str, Any] | None:
    """The prompt behind the last suggestion: the answer to "why did it suggest that?"."""
    prompt = ls.completions.last_prompt
    if prompt is None:
        return None
    server = ls.completions.last_server
    return {
        "model": server.model_id if server else None,
        "dialect": server.dialect if server else None,
        "exactTokens": ls.completions.tokens_exact,
        "tokenCounts": ls.completions.token_source,
        "text": prompt.text,
        "messages": [{"role": role, "content": content} for role, content in prompt.messages],
        "fillInMiddle": fim.as_json() if (fim := prompt.fill_in_middle) else None,
        "stop": list(prompt.stop),
        "format": prompt.format,
        "tokens": prompt.tokens,
        "budget": prompt.budget,
        "small": prompt.small,
        "context": [
            {
                "kind": piece.kind,
                "path": piece.path,
                "startLine": piece.start_line + 1,
                "endLine": piece.end_line + 1,
                "reason": piece.reason,
            }
            for piece in prompt.pieces
        ],
    }


def stats(ls: QuillLanguageServer) -> dict[str, int]:
    """What the completion service did: requests, model calls, warm-ups, and the
    suggestions answered from the cache (typed through, or speculated on acceptance)."""
    return ls.completions.stats()


def warm_at(ls: QuillLanguageServer, arguments: Any = None) -> None:
    """``{"uri", "position"}``: where the user is about to type (the editor clients send it
    when a document becomes active or the cursor is placed, and rests there). The
    model server computes the prompt there in the background, so the first suggestion
    does not wait for the whole file."""
    try:
        uri = str(arguments["uri"])
        position = _converter.structure(arguments["position"], types.Position)
    except (KeyError, TypeError, cattrs.BaseValidationError) as error:
        raise JsonRpcInvalidParams(f'quill.warmAt takes {{"uri", "position"}}: {error}') from error
    ls.completions.warm_where_typing_starts(uri, cursor_at(ls, uri, position))


COMMANDS: dict[str, Callable[..., Any]] = {
    "quill.documentState": document_state,
    "quill.lastPrompt": last_prompt,
    "quill.stats": stats,
    "quill.warmAt": warm_at,
}

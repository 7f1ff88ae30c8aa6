"""``$/progress`` for long actions, where the client supports work-done progress."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from lsprotocol import types

from quill.lsp.language_server import QuillLanguageServer


@asynccontextmanager
async def progress(ls: QuillLanguageServer, title: str) -> AsyncIterator[None]:
    """Begin/end a progress bar around the block (nothing if the client has none)."""
    if not ls.client.work_done_progress:
        yield
        return
    token = f"quill-{uuid.uuid4().hex}"
    try:
        await ls.work_done_progress.create_async(token)
    except Exception:  # the client refused a token: work without a progress bar
        yield
        return
    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, cancellable=False))
    message = "done"
    try:
        yield
    except BaseException:
        message = "failed"
        raise
    finally:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

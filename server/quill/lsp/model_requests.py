"""A model call made for one LSP request (a code action, an explanation): one deadline, one
progress report, and each way it can fail turned into the error the client shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pygls.exceptions import JsonRpcException

from quill.actions.resolve import NoUsableEdit
from quill.backends.embedded_host import HostStartError
from quill.backends.errors import ModelServerError
from quill.lsp.features.progress import progress
from quill.lsp.language_server import QuillLanguageServer
from quill.redaction import NotShared

# Generous: a CPU model may write tests for a minute; the client can always cancel.
ACTION_DEADLINE_S = 120.0
REQUEST_FAILED = -32803  # LSP's RequestFailed: the request was valid, the answer failed


@asynccontextmanager
async def model_request(ls: QuillLanguageServer, title: str) -> AsyncIterator[None]:
    try:
        async with progress(ls, title), asyncio.timeout(ACTION_DEADLINE_S):
            yield
    except ModelServerError as error:
        raise JsonRpcException(code=REQUEST_FAILED, message=error.user_message()) from error
    except NoUsableEdit as error:
        raise JsonRpcException(code=REQUEST_FAILED, message=f"Quill: {error}") from error
    except NotShared as error:
        raise JsonRpcException(code=REQUEST_FAILED, message=str(error)) from error
    except (TimeoutError, HostStartError) as error:
        message = f"Quill: the model did not answer ({error or 'deadline'})"
        raise JsonRpcException(code=REQUEST_FAILED, message=message) from error

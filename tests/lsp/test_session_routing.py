"""Every model request about a document carries one ``X-Session-ID`` of its own, the key
vllm-router's ``consistent_hash`` policy reads, so that behind a router one document's
requests reach the replica whose KV cache holds its prompt (``tests/lsp/test_router.py``
runs the real router). The key names nothing: paths may be private.

The stand-in here records the headers it receives; that is what it is for.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lsprotocol import types

from tests.conftest import StartClient, inline_params, open_document
from tests.fake_tgi import DIALECTS, FakeTgi, serve_fake_tgi

GENERATION_ROUTES = {"/generate_stream", "/v1/completions", "/api/generate", "/infill"}


def _end(text: str) -> types.Position:
    lines = text.split("\n")
    return types.Position(len(lines) - 1, len(lines[-1]))


def _session(headers: tuple[tuple[str, str], ...]) -> str | None:
    return next((value for name, value in headers if name.lower() == "x-session-id"), None)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_each_document_has_one_key_on_every_generation(
    start_client: StartClient, tmp_path: Path, dialect: str
) -> None:
    fake = FakeTgi("ok", dialect=dialect)
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client(
            {"serverUrl": url, "debounceMs": 0, "lookAhead": False}, workspace=tmp_path
        )
        for name in ("alpha.py", "beta.py"):
            uri = (tmp_path / name).as_uri()
            text = "import os\n\n\ndef main():\n    "
            open_document(client, uri, text)
            await client.text_document_inline_completion_async(inline_params(uri, _end(text)))
            typed = text + "path = os.getcwd()\n    "
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(version=2, uri=uri),
                    [types.TextDocumentContentChangeWholeDocument(typed)],
                )
            )
            await client.text_document_inline_completion_async(inline_params(uri, _end(typed)))
    generations = [
        request
        for request in fake.received
        if request.path in GENERATION_ROUTES
        and json.loads(request.body).get("n_predict") != 0  # not llama.cpp's /infill probe
    ]
    keys = [_session(request.headers) for request in generations]
    # Two completions in each document, each with the requests for its other suggestions
    # (where the dialect reports first tokens): every one with its document's key.
    half = len(keys) // 2
    assert len(keys) >= 4, keys
    alpha, beta = keys[0], keys[half]
    assert keys == [alpha] * half + [beta] * half
    assert alpha != beta
    for key in (alpha, beta):
        assert key is not None
        assert re.fullmatch(r"[0-9a-f]{24}", key)  # a keyed hash: no path, no file name

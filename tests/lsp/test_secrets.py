"""Secrets never leave the workspace: checked on the wire, in everything the model server
gets, on every route (token counting, generation, chat), for every way Quill calls it:
inline completions in each prompt format, hovers, code actions, explain, ``quill prompt``
and ``quill complete``.

The stand-in server here only records the requests it receives (the real host cannot say
what it was sent); the planted secrets must appear in none of them.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.conftest import INDEX_PROGRESS, StartClient, indexed, open_document
from tests.fake_tgi import DIALECTS, FakeTgi, Received, self_signed_certificate, serve_fake_tgi
from tests.unit.test_redaction import AWS_KEY, GITHUB, HF, PASSWORD, PLANTED, PRIVATE_KEY

SECRETS_BLOCK = (
    f"AWS_KEY = '{AWS_KEY}'\ngh = '{GITHUB}'\npassword = \"{PASSWORD}\"\n"
    f"PEM = '''{PRIVATE_KEY}'''\n"
)
SOURCE = f"import boto3\n{SECRETS_BLOCK}\ndef main():\n    "
# A file long enough to be counted in several window chunks, with secrets before the
# cursor (far and near) and after it, where a fill-in-the-middle prompt reads.
PADDING = "".join(f"def helper_{n}(value):\n    return value + {n}\n\n\n" for n in range(60))
LONG_PREFIX = f"import boto3\n{SECRETS_BLOCK}\n{PADDING}{SECRETS_BLOCK}\ndef main():\n    "
LONG_SUFFIX = f"\n\n{SECRETS_BLOCK}\nif __name__ == '__main__':\n    main()\n"
# A workspace module the file imports: its definition is context, its secret must go.
HELPERS = f"def connect():\n    key = '{HF}'\n    return key\n"


def _inline(uri: str, text: str, offset: int | None = None) -> types.InlineCompletionParams:
    lines = text[: len(text) if offset is None else offset].split("\n")
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(len(lines) - 1, len(lines[-1])),
    )


def _strings(value: Any) -> Iterable[str]:
    """Every string inside a decoded JSON value (so escaped text is seen as sent)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def leaked(received: list[Received]) -> list[tuple[str, str]]:
    """(route, secret) for each planted secret found in any request, raw or JSON-decoded."""
    found = []
    for request in received:
        seen = str(request)
        with contextlib.suppress(ValueError):  # a body that is not JSON is seen raw
            seen += "\n".join(_strings(json.loads(request.body)))
        found += [(request.path, secret) for secret in PLANTED if secret in seen]
    return found


def _bodies(fake: FakeTgi, path: str) -> list[str]:
    return [request.body for request in fake.received if request.path == path]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("prompt_format", ["auto", "starcoder", "qwen", "chat"])
async def test_no_planted_secret_reaches_the_model_server_on_any_route(
    start_client: StartClient, tmp_path: Path, prompt_format: str, dialect: str
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "helpers.py").write_text(HELPERS)
    before = f"from helpers import connect\n{LONG_PREFIX}connect()\n    "
    text, cursor = before + LONG_SUFFIX, len(before)
    fake = FakeTgi("ok", dialect=dialect)
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client(
            # The full prompt from the first request: the workspace context is a route
            # too. (A cold document's small prompt is the same redacted file window.)
            {
                "serverUrl": url,
                "debounceMs": 0,
                "promptFormat": prompt_format,
                "coldPromptTokens": 0,
            },
            INDEX_PROGRESS,
            workspace=tmp_path,
        )
        await indexed(client)  # helpers.py's definitions: a route to check, once indexed
        for name in [".env", "deploy/server.pem", ".ssh/id_rsa", ".git/COMMIT_EDITMSG"]:
            uri = (tmp_path / name).as_uri()
            open_document(client, uri, SOURCE, language="plaintext")
            result = await client.text_document_inline_completion_async(_inline(uri, SOURCE))
            assert result is None or not result.items
        assert fake.requests == []  # no prompt at all for a secret file
        other = (tmp_path / "other.py").as_uri()  # another open buffer: snippet context
        open_document(client, other, f"{SECRETS_BLOCK}\ndef main():\n    connect()\n")
        uri = (tmp_path / "app.py").as_uri()
        open_document(client, uri, text)
        await client.text_document_inline_completion_async(_inline(uri, text, cursor))
        # Typing on: the chunk being typed in is counted again, by bound or for real.
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=2, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text[:cursor] + "x = 1\n    ")],
            )
        )
        await client.text_document_inline_completion_async(
            _inline(uri, text[:cursor] + "x = 1\n    ")
        )
    sent = "".join(str(request) for request in fake.received)
    assert "import boto3" in sent  # the ordinary code went out, the secrets did not
    assert "def connect():" in sent  # and so did the workspace context
    if prompt_format == "chat":
        assert _bodies(fake, "/api/chat" if dialect == "ollama" else "/v1/chat/completions")
    else:
        assert len(fake.requests) >= 2  # the two completions, and any warm-up or speculation
    if dialect != "ollama":  # Ollama has no tokenize route: its budgets are estimated
        assert _bodies(fake, "/tokenize")  # budgets were counted by the server's tokenizer
    assert leaked(fake.received) == []


ACTIONS_SOURCE = f"""import os


def load():
    password = "{PASSWORD}"
    return os.environ.get("X", password)


def area(radius):
    return 3.14 * radius**2
"""
RESOLVE = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
        )
    ),
)


async def _resolve_each(client: Any, uri: str, line: int) -> list[str]:
    """Resolve every Quill action offered at ``line``; the errors they answered with."""
    position = types.Position(line, 5)
    listed = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            types.Range(position, position),
            types.CodeActionContext(
                [types.Diagnostic(types.Range(position, position), "something is wrong")]
            ),
        )
    )
    errors = []
    for action in listed or []:
        if isinstance(action, types.CodeAction) and action.data is not None:
            try:
                await client.code_action_resolve_async(action)
            except JsonRpcException as error:
                errors.append(error.message)
    return errors


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_hovers_code_actions_and_explain_send_no_secret(
    start_client: StartClient, tmp_path: Path, dialect: str
) -> None:
    fake = FakeTgi("ok", dialect=dialect)
    uri = (tmp_path / "config.py").as_uri()
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client(
            {"serverUrl": url, "hoverExplain": True, "hoverDeadlineMs": 1000}, RESOLVE
        )
        open_document(client, uri, ACTIONS_SOURCE + "\nload()\narea(2)\n")
        for line in (11, 12):  # hovers on a call of each function
            await client.text_document_hover_async(
                types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, 1))
            )
        errors = await _resolve_each(client, uri, 3) + await _resolve_each(client, uri, 8)
        for line in (3, 8):
            try:
                await client.workspace_execute_command_async(
                    types.ExecuteCommandParams(
                        "quill.explain",
                        [{"uri": uri, "position": {"line": line, "character": 5},
                          "display": "client"}],
                    )
                )  # fmt: skip
            except JsonRpcException as error:
                errors.append(error.message)
        secret_file = (tmp_path / ".env").as_uri()
        open_document(client, secret_file, ACTIONS_SOURCE, language="python")
        errors += await _resolve_each(client, secret_file, 8)
    assert any("secret" in error for error in errors)  # refused, and the user is told why
    assert any("3.14 * radius" in request.body for request in fake.received)  # area went out
    assert leaked(fake.received) == []


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quill", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("command", ["prompt", "complete"])
def test_the_command_line_sends_no_secret(tmp_path: Path, command: str) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "helpers.py").write_text(HELPERS)
    app = tmp_path / "app.py"
    before = f"from helpers import connect\n{LONG_PREFIX}connect()\n    "
    app.write_text(before + LONG_SUFFIX)
    line = before.count("\n") + 1
    secret = tmp_path / ".env"
    secret.write_text(SOURCE)
    fake = FakeTgi("ok")
    with serve_fake_tgi(fake) as url:
        refused = _cli(command, f"{secret}:1:1", "--server-url", url)
        assert refused.returncode != 0
        assert "secret" in refused.stderr
        assert fake.requests == []
        done = _cli(command, f"{app}:{line}:5", "--server-url", url)
    assert done.returncode == 0 or "no suggestion" in done.stderr, done.stderr
    assert "import boto3" in "".join(str(request) for request in fake.received)
    assert [s for s in PLANTED if s in done.stdout] == []  # what would be sent, shown
    assert _bodies(fake, "/tokenize")
    assert leaked(fake.received) == []


async def test_an_untrusted_certificate_fails_clearly_and_ca_bundle_fixes_it(
    start_client: StartClient, tmp_path: Path
) -> None:
    certificate, key = self_signed_certificate(tmp_path)
    with serve_fake_tgi(FakeTgi("ok"), tls=(certificate, key)) as url:
        client, _ = await start_client({"serverUrl": url, "debounceMs": 0})
        open_document(client, "file:///project/app.py", "x = 1\n")
        result = await client.text_document_inline_completion_async(
            _inline("file:///project/app.py", "x = 1\n")
        )
        assert result is not None
        assert not result.items
        [message] = client.messages
        assert url in message.message
        assert "certificate is not trusted" in message.message
        assert "caBundle" in message.message
        trusting, _ = await start_client(
            {"serverUrl": url, "debounceMs": 0, "caBundle": str(certificate)}
        )
        open_document(trusting, "file:///project/app.py", "x = 1\n")
        result = await trusting.text_document_inline_completion_async(
            _inline("file:///project/app.py", "x = 1\n")
        )
        assert result is not None
        assert result.items  # verified against the CA file, not unverified
        assert not trusting.messages


async def test_git_ignored_files_never_reach_the_model_server(
    start_client: StartClient, tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("build/\n*.generated.py\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / ".gitignore").write_text("local_settings.py\n")
    ignored = ["build/out.py", "src/models.generated.py", "src/local_settings.py"]
    fake = FakeTgi("ok")
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client({"serverUrl": url, "debounceMs": 0})
        for name in ignored:
            uri = (tmp_path / name).as_uri()
            open_document(client, uri, "def main():\n    ")
            result = await client.text_document_inline_completion_async(
                _inline(uri, "def main():\n    ")
            )
            assert result is None or not result.items
        assert fake.requests == []
        kept = (tmp_path / "src" / "app.py").as_uri()
        open_document(client, kept, "def main():\n    ")
        await client.text_document_inline_completion_async(_inline(kept, "def main():\n    "))
        assert fake.requests  # the completion (and the warm-up on opening it) went out

"""Secrets never leave the workspace: checked on the wire, in what the model server gets.

The stand-in server here only records the requests it receives (the real host cannot say
what it was sent); the planted secrets must appear in none of them.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.conftest import StartClient, open_document
from tests.fake_tgi import FakeTgi, self_signed_certificate, serve_fake_tgi
from tests.unit.test_redaction import AWS_KEY, GITHUB, PASSWORD, PLANTED, PRIVATE_KEY

SOURCE = (
    f"import boto3\nAWS_KEY = '{AWS_KEY}'\ngh = '{GITHUB}'\npassword = \"{PASSWORD}\"\n"
    f"PEM = '''{PRIVATE_KEY}'''\n\ndef main():\n    "
)


def _inline(uri: str, text: str) -> types.InlineCompletionParams:
    lines = text.split("\n")
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(len(lines) - 1, len(lines[-1])),
    )


async def test_no_planted_secret_reaches_the_model_server(start_client: StartClient) -> None:
    fake = FakeTgi("ok")
    with serve_fake_tgi(fake) as url:
        client, _ = await start_client({"serverUrl": url, "debounceMs": 0})
        secret_files = [".env", "deploy/server.pem", ".ssh/id_rsa", ".git/COMMIT_EDITMSG"]
        for name in secret_files:
            uri = f"file:///project/{name}"
            open_document(client, uri, SOURCE, language="plaintext")
            result = await client.text_document_inline_completion_async(_inline(uri, SOURCE))
            assert result is None or not result.items
        assert fake.requests == []  # no prompt at all for a secret file
        uri = "file:///project/app.py"
        open_document(client, uri, SOURCE)
        await client.text_document_inline_completion_async(_inline(uri, SOURCE))
        [request] = fake.requests
        sent = str(request)
        assert "import boto3" in sent  # the ordinary code went out, the secrets did not
        assert [secret for secret in PLANTED if secret in sent] == []


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
        assert len(fake.requests) == 1

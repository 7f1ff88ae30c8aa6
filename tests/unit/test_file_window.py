"""The file window a completion may send: redacted before anything is counted or sent,
judged whole where the window's edges cut a credential."""

from __future__ import annotations

import pytest

from quill.completion.file_window import shared_window
from quill.cursor import Cursor
from quill.redaction import REDACTED, NotShared, redact
from tests.unit.test_redaction import AWS_KEY, GITHUB, PASSWORD, PLANTED, PRIVATE_KEY


def _window(text: str, offset: int, path: str = "/w/app.py", prefix_chars: int = 6000):
    return shared_window(Cursor(path, "python", text, offset), prefix_chars, 1500)


def test_both_sides_are_redacted_and_keep_their_lines() -> None:
    before = f"aws = '{AWS_KEY}'\nPEM = '''{PRIVATE_KEY}'''\ndef main():\n    "
    after = f"\n\ntoken = '{GITHUB}'\n"
    window = _window(before + after, len(before))
    assert window.start == 0
    assert [s for s in PLANTED if s in window.prefix + window.suffix] == []
    assert window.prefix == redact(before)
    assert window.suffix == redact(after)
    assert window.prefix.endswith("def main():\n    ")
    assert window.prefix.count("\n") == before.count("\n")  # lines stay where they were


def test_code_without_credentials_is_the_buffer_itself() -> None:
    text = "def f(password):\n    return password\n"
    window = _window(text, 20)
    assert (window.prefix, window.suffix) == (text[:20], text[20:])


def test_a_private_key_that_the_window_starts_inside_is_still_redacted() -> None:
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + "".join(
        f"MIIEowIBAAKCAQEA{n:04d}xyz\n" for n in range(300)
    )  # an unterminated block far above the cursor, longer than the window
    text = f"x = 1\nKEY = '''{key}"
    window = _window(text, len(text), prefix_chars=2000)
    assert window.start > len("x = 1\nKEY = '''-----BEGIN")  # the window starts inside it
    assert "MIIEowIBAAKCAQEA" not in window.prefix
    assert window.prefix.startswith(REDACTED)


@pytest.mark.parametrize(
    "typed",
    [f'password = "{PASSWORD[:8]}|{PASSWORD[8:]}"', f"key = '{AWS_KEY[:10]}|{AWS_KEY[10:]}'"],
)
def test_a_cursor_inside_a_credential_shares_nothing(typed: str) -> None:
    with pytest.raises(NotShared, match="inside a credential"):
        _window(typed.replace("|", ""), typed.index("|"))


@pytest.mark.parametrize("path", ["/w/.env", "/w/.git/config", "/home/u/.ssh/id_rsa"])
def test_private_files_share_nothing(path: str) -> None:
    with pytest.raises(NotShared, match="secret or git-ignored"):
        _window("x = 1\n", 0, path)

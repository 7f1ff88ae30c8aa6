"""The file window a completion may send: redacted before anything is counted or sent,
judged whole where the window's edges cut a credential."""

from __future__ import annotations

import pytest

from quill.completion.file_window import shared_window, window_ahead
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


def test_the_place_ahead_is_where_the_window_has_moved_on() -> None:
    """With 6,000 characters of prefix the window's start moves on every 2,000 typed (at
    8,001 here): a few lines before a move, the place ahead is past it; elsewhere there
    is none."""
    text = "".join(f"line {n:04}\n" for n in range(1000))  # 10 characters a line
    assert window_ahead(Cursor("/w/a.py", "python", text, 7500), 6000) is None
    near = window_ahead(Cursor("/w/a.py", "python", text, 7700), 6000)
    assert near is not None
    assert (near.offset, near.text) == (8100, text)
    assert _window(text, 7700).start == 2010  # the line after 2,000
    assert _window(text, near.offset).start == 4010
    at_the_end = window_ahead(Cursor("/w/a.py", "python", text[:7800], 7700), 6000)
    assert at_the_end is None  # the text ahead is not written yet

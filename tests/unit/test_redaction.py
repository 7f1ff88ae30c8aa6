"""Secret files stay out of prompts; credential-shaped strings are redacted from text."""

from __future__ import annotations

import pytest

from quill.redaction import REDACTED, NotShared, check_shareable, is_secret_path, redact

# Planted secrets (fakes of the real shapes; none of them is a live credential).
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK = "xoxb-1234567890-abcdefghijkl"
OPENAI = "sk-proj-" + "Z" * 40
HF = "hf_" + "q" * 34
PASSWORD = "correct horse battery"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----"
)
PLANTED = [AWS_KEY, GITHUB, SLACK, OPENAI, HF, PASSWORD, "MIIEowIBAAKCAQEA7"]


@pytest.mark.parametrize(
    "path",
    [
        "/w/.env", "/w/.env.local", "/w/prod.env", "/w/certs/server.pem", "/w/tls.key",
        "/home/u/.ssh/id_rsa", "/home/u/.ssh/config", "/w/id_ed25519.pub", "/w/store.p12",
        "/w/.git/config", "/w/.git/COMMIT_EDITMSG", "/home/u/.aws/credentials",
        "/w/credentials.json", "C:\\Users\\u\\.ssh\\known_hosts", "/w/.npmrc", "/w/.NETRC",
    ],
)  # fmt: skip
def test_secret_paths_are_recognised(path: str) -> None:
    assert is_secret_path(path)


@pytest.mark.parametrize(
    "path", ["/w/app.py", "/w/environment.py", "/w/keys.py", "/w/.github/ci.yml", "/w/gitx/a.py"]
)
def test_ordinary_code_is_not_secret(path: str) -> None:
    assert not is_secret_path(path)


def test_every_planted_credential_is_redacted() -> None:
    text = (
        f"aws = '{AWS_KEY}'\nGH_TOKEN={GITHUB}\nslack: {SLACK}\nclient = Client('{OPENAI}')\n"
        f"HF={HF}\ndb_password = \"{PASSWORD}\"\nKEY = '''{PRIVATE_KEY}'''\nprint('done')\n"
    )
    redacted = redact(text)
    for secret in PLANTED:
        assert secret not in redacted
    assert redacted.count(REDACTED) == 7
    assert redacted.endswith("print('done')\n")  # code around a secret is kept
    assert 'db_password = "<redacted>"' in redacted


def test_a_private_key_cut_by_the_window_is_redacted_to_the_end() -> None:
    redacted = redact("x = 1\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg")
    assert redacted == f"x = 1\n{REDACTED}\n"  # the placeholder keeps the key's lines


def test_ordinary_code_is_unchanged() -> None:
    code = "def login(password: str) -> bool:\n    token = make_token(password)\n    return True\n"
    assert redact(code) == code
    assert redact("key = 'ab'") == "key = 'ab'"  # too short to be a secret


@pytest.mark.parametrize("path", ["/w/.env", "/w/.git/config", "/home/u/.ssh/id_rsa"])
def test_model_calls_about_private_files_are_refused(path: str) -> None:
    with pytest.raises(NotShared, match="secret or git-ignored"):
        check_shareable(path, ["x = 1\n"])


def test_model_calls_with_credentials_are_refused_not_redacted() -> None:
    check_shareable("/w/app.py", ["def f():\n    return 1\n"])
    with pytest.raises(NotShared, match="holds secrets"):
        check_shareable("/w/app.py", ["def f():\n", f"    key = '{HF}'\n"])

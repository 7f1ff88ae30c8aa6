"""What never leaves the workspace: secret files, and credentials inside ordinary text.

A prompt may go to a shared GPU server run by someone else, so a buffer whose path says
it holds secrets (``.env``, keys, certificates, ``.git/``) is never put into a prompt,
and strings shaped like credentials are replaced before any text is sent. Patterns
err on the side of redacting: a lost ``password = "..."`` value costs a model nothing.
"""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import PurePath, PurePosixPath, PureWindowsPath

from quill.gitignore import is_git_ignored

REDACTED = "<redacted>"

# File names (matched case-insensitively against the last path component).
_SECRET_NAMES = (
    ".env", ".env.*", "*.env", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
    "*.kdbx", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "credentials",
    "credentials.*", "*credentials*.json", "service-account*.json", ".netrc", "_netrc",
    ".pgpass", ".npmrc", ".pypirc", ".htpasswd", "*.tfvars", "secrets.*", "*.secrets",
)  # fmt: skip
# Directories whose files are all secret (or, for .git, internal and never code).
_SECRET_DIRS = frozenset({".git", ".ssh", ".aws", ".gnupg", ".docker", ".kube"})

_CREDENTIALS = [
    re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(-----END [^-\n]*-----|\Z)",
               re.S),  # a private key block, or its start when the window cuts it
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),  # OpenAI, Anthropic
    re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),  # Hugging Face
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google API keys
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # JWT
]  # fmt: skip
# ``password = "hunter22"``, ``api_key: 'x'``, ``"client_secret": "..."``: the value goes.
_ASSIGNED = re.compile(
    r"(?i)(\b[\w.-]*(?:password|passwd|pwd|secret|api_?key|apikey|token|access_?key|"
    r"private_?key|auth)[\w.-]*[\"']?\s*(?::=|=|:)\s*)([\"'])([^\"'\n]{4,})\2"
)


def is_secret_path(path: str) -> bool:
    """Whether a buffer at ``path`` (a file path or URI path) must stay out of prompts."""
    pure: PurePath = PureWindowsPath(path) if "\\" in path else PurePosixPath(path)
    parts = [part.lower() for part in pure.parts]
    if not parts:
        return False
    if any(part in _SECRET_DIRS for part in parts[:-1]):
        return True
    return any(fnmatch(parts[-1], pattern) for pattern in _SECRET_NAMES)


def is_private_path(path: str) -> bool:
    """Whether a buffer must stay out of prompts: a secret file, or one git ignores."""
    return is_secret_path(path) or is_git_ignored(path)


def redact(text: str) -> str:
    """``text`` with every credential-shaped string replaced by ``<redacted>``."""
    for pattern in _CREDENTIALS:
        text = pattern.sub(REDACTED, text)
    return _ASSIGNED.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}{m[2]}", text)

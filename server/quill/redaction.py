"""What never leaves the workspace: secret files, and credentials inside ordinary text.

A prompt may go to a shared GPU server run by someone else, so a buffer whose path says
it holds secrets (``.env``, keys, certificates, ``.git/``) or that git ignores is never
put into a prompt, and strings shaped like credentials are replaced before any text is
sent, by any route: a token count (``/tokenize``) sends text as surely as a prompt does.
Patterns err on the side of redacting: a lost ``password = "..."`` value costs a model
nothing.

This module is the one gate: a completion's file window is cut by
``quill.completion.file_window.shared_window`` through :func:`redact_around`, and model calls for
actions, explanations and hovers pass :func:`check_shareable`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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

# Credentials by shape. One pattern for the token formats (one pass over the text is
# several times faster than one per format: this runs on every keystroke).
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(-----END [^-\n]*-----|\Z)", re.S
)  # a private key block, or its start when the text ends inside it
_PRIVATE_KEY_BEGIN = "-----BEGIN "
_TOKENS = re.compile(
    r"(?<!\w)(?:"
    r"(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{36,}\b|github_pat_[A-Za-z0-9_]{22,}\b"  # GitHub
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"  # OpenAI, Anthropic
    r"|hf_[A-Za-z0-9]{30,}\b"  # Hugging Face
    r"|AIza[0-9A-Za-z_-]{35}\b"  # Google API keys
    r"|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"  # JWT
    r")"
)
# ``password = "hunter22"``, ``api_key: 'x'``, ``"client_secret": "..."``: the value goes
# (group 2). The match starts at the keyword (the lookahead lets the scan skip other
# letters fast); a name like ``db_password`` matches from its ``password``.
_ASSIGNED = re.compile(
    r"(?i)(?=[pstaPSTA])(?:password|passwd|pwd|secret|api_?key|apikey|token|access_?key|"
    r"private_?key|auth)[\w.-]*[\"']?\s*(?::=|=|:)\s*([\"'])([^\"'\n]{4,})\1"
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


class NotShared(Exception):
    """The text is from a private file, or holds credentials where they cannot be cut
    out: it is not sent to a model server."""


def redact(text: str) -> str:
    """``text`` with every credential-shaped string replaced by ``<redacted>`` (followed
    by the line ends it covered, so the text keeps its lines)."""
    return _replaced(text, credential_spans(text), 0, len(text))


def credential_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds credentials: sorted, non-overlapping ``(start, end)`` spans."""
    spans = [match.span() for match in _PRIVATE_KEY.finditer(text)]
    spans += [match.span() for match in _TOKENS.finditer(text)]
    spans += [match.span(2) for match in _ASSIGNED.finditer(text)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact_around(text: str, start: int, cursor: int, end: int) -> tuple[str, str]:
    """``text[start:cursor]`` and ``text[cursor:end]``, redacted as parts of ``text``.

    Only this window is scanned (it runs on every keystroke), but credentials are judged
    whole: the scan reaches a line past each edge, and back to the start of a private
    key block that the window starts inside, so a credential the window cuts is still
    recognised and redacted as far as it reaches in. Raises ``NotShared`` when the
    cursor is inside a credential: the user is typing one, and no part of it goes out.
    """
    scan_start = text.rfind("\n", 0, max(start - 1, 0)) + 1
    begin = text.rfind(_PRIVATE_KEY_BEGIN, 0, start)
    if begin != -1 and text.find("-----END ", begin, start) == -1:
        scan_start = min(scan_start, begin)
    scan_end = text.find("\n", min(end + 1, len(text)))
    scan_end = len(text) if scan_end == -1 else scan_end
    spans = [
        (span_start + scan_start, span_end + scan_start)
        for span_start, span_end in credential_spans(text[scan_start:scan_end])
    ]
    if any(span_start < cursor < span_end for span_start, span_end in spans):
        raise NotShared("the cursor is inside a credential")
    return _replaced(text, spans, start, cursor), _replaced(text, spans, cursor, end)


def check_shareable(path: str, texts: Iterable[str]) -> None:
    """Refuse a model call about ``path`` that would send private code.

    Actions do not redact: an edit computed from redacted text would write the
    placeholder into the user's code. So text holding credentials is not sent at all.
    """
    if is_private_path(path):
        raise NotShared("Quill: this is a secret or git-ignored file: its code is not sent")
    if any(credential_spans(text) for text in texts):
        raise NotShared("Quill: this code holds secrets: it is not sent to the model")


def _replaced(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    """``text[start:end]`` with the spans (clipped to it) replaced by the placeholder."""
    parts = []
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start >= span_end:
            continue
        parts += [text[start:span_start], REDACTED, "\n" * text.count("\n", span_start, span_end)]
        start = span_end
    parts.append(text[start:end])
    return "".join(parts)

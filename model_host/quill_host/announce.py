"""How a host tells whoever started it that it serves: one stdout line and a ready file.

Both hosts (the embedded one and the TGI launcher) speak this contract, so the language
server, tests and scripts start either the same way: read the line, or wait for the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import suppress
from pathlib import Path

ANNOUNCEMENT = "Quill host serving {model_id} at {url}"
"""The single stdout line, printed once requests can be served; the URL follows ` at `."""


def base_url(host: str, port: int) -> str:
    """The URL clients use; a wildcard bind address is reached through loopback."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def announce(url: str, model_id: str, ready_file: Path | None) -> None:
    """Write the ready file (if asked for), then print the line: both mean "serving now"."""
    if ready_file is not None:
        _write_atomically(ready_file, {"url": url, "pid": os.getpid(), "model_id": model_id})
    print(ANNOUNCEMENT.format(model_id=model_id, url=url), flush=True)


def withdraw(ready_file: Path | None) -> None:
    """Remove the ready file on exit, unless another host has replaced it since."""
    if ready_file is None:
        return
    with suppress(OSError, ValueError):
        if json.loads(ready_file.read_text(encoding="utf-8")).get("pid") == os.getpid():
            ready_file.unlink()


def _write_atomically(path: Path, content: dict[str, object]) -> None:
    """A reader sees no file or the whole JSON, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(content, out)
        os.replace(scratch, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(scratch)
        raise

"""Start, or find again, the model host shared by every editor window of a user.

Several editor windows each run ``quill serve``; they should not each load a model.
The first one starts ``quill host`` as a detached process, which records its address in
a file in the cache directory; the others read that file and check ``/health``. A file
lock makes two windows that start together agree on one host. The host exits by itself
after a long idle time, and the next window to need it starts a new one. Each model (the
``hostModel`` setting) has a host, and files, of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import logging
import re
import subprocess
import sys
import time
from pathlib import Path

import filelock
import httpx

from quill.paths import cache_dir

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 1800
START_TIMEOUT_S = 120.0
DEFAULT_MODEL = "default"


class HostStartError(RuntimeError):
    """The embedded host could not be started; the message says what to fix."""


class EmbeddedHost:
    """The shared host of one model: a name ``quill host --model`` knows, or a ``.gguf``."""

    def __init__(self, directory: Path | None = None, model: str = DEFAULT_MODEL) -> None:
        self._directory = directory
        self.model = model

    @property
    def directory(self) -> Path:
        return self._directory or cache_dir()

    @property
    def _stem(self) -> str:
        """The host's file names: ``host.*`` for the default model, else named after it."""
        if self.model == DEFAULT_MODEL:
            return "host"
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(self.model).name)[-40:]
        digest = hashlib.sha256(self.model.encode()).hexdigest()[:8]
        return f"host-{readable}-{digest}"

    @property
    def registry(self) -> Path:
        return self.directory / f"{self._stem}.json"

    async def ensure_running(self) -> str:
        """The URL of a healthy shared host, starting one if there is none."""
        if (url := await self._registered_url()) is not None:
            return url
        lock = filelock.AsyncFileLock(
            self.directory / f"{self._stem}.lock", timeout=START_TIMEOUT_S
        )
        async with lock:
            if (url := await self._registered_url()) is not None:
                return url
            return await self._start()

    async def _registered_url(self) -> str | None:
        try:
            record = json.loads(self.registry.read_text())
            url = str(record["url"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return url if await _healthy(url) else None

    async def _start(self) -> str:
        if importlib.util.find_spec("llama_cpp") is None:
            raise HostStartError(
                "the embedded model host is not installed: pip install 'quill-lsp[host]', "
                "or set serverUrl to a running TGI / llama.cpp / vLLM server"
            )
        self.registry.unlink(missing_ok=True)
        log_path = self.directory / f"{self._stem}.log"
        command = [
            sys.executable, "-m", "quill_host",
            "--model", self.model,
            "--port", "0",
            "--idle-timeout", str(IDLE_TIMEOUT_S),
            "--ready-file", str(self.registry),
        ]  # fmt: skip
        log.info("starting the embedded model host: %s", " ".join(command))
        with log_path.open("ab") as log_file:
            # Not asyncio's subprocess: its transport kills the child when closed, and this
            # host must outlive the editor window that started it. Spawning does not block.
            process = subprocess.Popen(  # noqa: ASYNC220
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,  # outlives this editor window, shared by the next
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise HostStartError(
                    f"the embedded model host exited with code {process.returncode}; "
                    f"its log is {log_path}:\n{_tail(log_path)}"
                )
            if (url := await self._registered_url()) is not None:
                log.info("embedded model host ready at %s (pid %d)", url, process.pid)
                return url
            await asyncio.sleep(0.1)
        process.terminate()
        raise HostStartError(f"the embedded model host did not start in time; see {log_path}")


async def _healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            response = await client.get(f"{url.rstrip('/')}/health")
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""

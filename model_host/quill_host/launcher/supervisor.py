"""Run a model server (TGI, vLLM) or a router, forward its logs, announce it once healthy,
and restart it when it crashes, or when it hangs: stops answering /health while it runs.

Threads, not asyncio: the work is waiting on one child process, one log pipe and one HTTP
poll, and a thread per pipe keeps every wait plain and interruptible by `stop()`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    """The child to run and the timings of its supervision (all in seconds)."""

    argv: Sequence[str]
    env: Mapping[str, str]
    health_url: str
    start_timeout: float = 3600.0
    """Downloading and loading 80 GB of weights takes long; a start past this counts as a crash."""
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    healthy_reset: float = 300.0
    """Healthy this long, the next crash restarts after `backoff_initial` again."""
    max_crashes: int = 5
    crash_window: float = 900.0
    poll_initial: float = 0.25
    poll_max: float = 5.0
    stop_grace: float = 30.0
    liveness_interval: float = 10.0
    """Once healthy, /health is asked this often; a server that stops answering is hung."""
    liveness_failures: int = 3
    """Consecutive unanswered probes before a hung server is restarted."""
    name: str = "TGI"
    log_prefix: str = "[tgi] "


class Supervisor:
    """Keeps one model server (or router) running until `stop()`, or until it crashes or
    hangs too often."""

    def __init__(
        self,
        config: SupervisorConfig,
        on_healthy: Callable[[], None],
        log: IO[str] | None = None,
    ) -> None:
        self._config = config
        self._on_healthy = on_healthy
        self._log = log if log is not None else sys.stderr
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def stop(self) -> None:
        """Ask `run` to stop the child and return; safe from a signal handler or a thread."""
        self._stopping.set()

    def run(self) -> int:
        """Supervise until stopped (0) or until `max_crashes` crashes within the window (1)."""
        config = self._config
        crashes: deque[float] = deque()
        backoff = config.backoff_initial
        announced = False
        while not self._stopping.is_set():
            process = self._start()
            started = time.monotonic()
            healthy = self._wait_healthy(process, started)
            if healthy and not announced:
                announced = True
                self._on_healthy()
            healthy_since = time.monotonic()
            hung = healthy and self._serve_until_down(process)
            if self._stopping.is_set():
                self._terminate(process)
                return 0
            reason = self._hung(process) if hung else self._failure(process, healthy, started)
            if healthy and time.monotonic() - healthy_since >= config.healthy_reset:
                backoff = config.backoff_initial
            now = time.monotonic()
            crashes.append(now)
            while crashes and now - crashes[0] > config.crash_window:
                crashes.popleft()
            if len(crashes) >= config.max_crashes:
                self._say(
                    f"{config.name} {reason}; it failed {len(crashes)} times within "
                    f"{config.crash_window:.0f} s, giving up. Its log lines above (prefixed "
                    f"{config.log_prefix.strip()!r}) say why."
                )
                return 1
            self._say(f"{config.name} {reason}; restarting in {backoff:g} s")
            if self._stopping.wait(backoff):
                return 0
            backoff = min(backoff * 2, config.backoff_max)
            self.restarts += 1
        return 0

    def _start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            list(self._config.argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self._config.env},
            start_new_session=True,  # its shards and children are stopped as one group
        )
        with self._lock:
            self._process = process
        threading.Thread(target=self._forward, args=(process,), daemon=True).start()
        return process

    def _forward(self, process: subprocess.Popen[bytes]) -> None:
        stream = process.stdout
        assert stream is not None
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._log.write(f"{self._config.log_prefix}{line}\n")
            self._log.flush()
        stream.close()

    def _wait_healthy(self, process: subprocess.Popen[bytes], started: float) -> bool:
        """Poll /health with backoff until 200; False when the child exits, stalls or we stop."""
        delay = self._config.poll_initial
        while process.poll() is None and not self._stopping.is_set():
            if health_ok(self._config.health_url):
                return True
            if time.monotonic() - started > self._config.start_timeout:
                return False
            self._stopping.wait(delay)
            delay = min(delay * 2, self._config.poll_max)
        return False

    def _serve_until_down(self, process: subprocess.Popen[bytes]) -> bool:
        """Wait while the healthy child serves; True when it stopped answering /health
        (hung) while still running, False when it exited or we stop."""
        config = self._config
        unanswered = 0
        next_probe = time.monotonic() + config.liveness_interval
        while process.poll() is None and not self._stopping.wait(0.2):
            if time.monotonic() < next_probe:
                continue
            unanswered = 0 if health_ok(config.health_url) else unanswered + 1
            if unanswered >= config.liveness_failures:
                return process.poll() is None
            next_probe = time.monotonic() + config.liveness_interval
        return False

    def _hung(self, process: subprocess.Popen[bytes]) -> str:
        self._terminate(process)
        probes = self._config.liveness_failures
        return f"stopped answering /health ({probes} probes in a row), so it was stopped"

    def _failure(self, process: subprocess.Popen[bytes], healthy: bool, started: float) -> str:
        """Why the child is no longer serving; a stalled start is killed here."""
        code = process.poll()
        if code is None:
            self._terminate(process)
            return f"did not answer /health within {self._config.start_timeout:g} s"
        state = "crashed" if healthy else "exited before it was healthy"
        return f"{state} (exit status {code}) after {time.monotonic() - started:.0f} s"

    def _terminate(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM to the child's process group, SIGKILL after the grace period."""
        for sig, wait in ((signal.SIGTERM, self._config.stop_grace), (signal.SIGKILL, 10.0)):
            if process.poll() is not None:
                return
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                self._say(f"{self._config.name} did not stop within {wait:.0f} s of {sig.name}")

    def _say(self, message: str) -> None:
        self._log.write(f"quill host: {message}\n")
        self._log.flush()


def health_ok(url: str, timeout: float = 2.0) -> bool:
    """True when GET `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False

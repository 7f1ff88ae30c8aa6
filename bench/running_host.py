"""A `quill host` started for one benchmark and stopped after it, whatever happens."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunningHost:
    process: subprocess.Popen[str]
    url: str

    def memory_mb(self, field: str = "VmRSS") -> float:
        """The host's resident memory now (``VmRSS``) or at its peak (``VmHWM``)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        return 0.0


@contextmanager
def running_host(*arguments: str) -> Iterator[RunningHost]:
    process = subprocess.Popen(
        [sys.executable, "-m", "quill_host", "--port", "0", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield RunningHost(process, process.stdout.readline().rsplit(" at ", 1)[1].strip())
    finally:
        process.terminate()
        process.wait()

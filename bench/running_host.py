"""A `quill host` started for one benchmark and stopped after it, whatever happens.

Every benchmark that needs the embedded model starts it here (on a free port, the URL read
from its first line of output), so none can leave a host running behind it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from process_memory import status_mb


@dataclass(frozen=True)
class RunningHost:
    process: subprocess.Popen[str]
    url: str

    def memory_mb(self, field: str = "VmRSS") -> float:
        """The host's resident memory now (``VmRSS``) or at its peak (``VmHWM``)."""
        return status_mb(self.process.pid, field)


@contextmanager
def running_host(*arguments: str) -> Iterator[RunningHost]:
    """``quill host`` with ``arguments`` (``--model``, ``--cache-reuse`` ...), until the
    block ends."""
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

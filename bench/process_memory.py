"""How much memory a benchmark's processes use: this one's peak, another's now or at its peak,
and the largest peak among this process's children.

Several benchmarks print memory next to their times (the index build, the host under load,
the host's KV-cache reuse); they read it here, one way, from ``resource`` and Linux's
``/proc/PID/status`` (``VmRSS`` now, ``VmHWM`` the peak), in MB of 2**20 bytes.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path


def own_peak_rss_mb() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def status_mb(pid: int, field: str = "VmRSS") -> float:
    """Process ``pid``'s resident memory now (``VmRSS``) or at its peak (``VmHWM``); 0 when
    its status has no such line."""
    kib = _status_kib((Path("/proc") / str(pid) / "status").read_text(), field)
    return (kib or 0) / 1024


def children_peak_rss_mb() -> float:
    """The largest peak RSS (``VmHWM``) among this process's living children.

    Not ``RUSAGE_CHILDREN``: a child started by fork and exec counts the parent's
    memory at the fork in its ``ru_maxrss``.
    """
    peak_kib = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent != os.getpid():
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        peak_kib = max(peak_kib, _status_kib(status, "VmHWM") or 0)
    return peak_kib / 1024


def _status_kib(status: str, field: str) -> int | None:
    """A ``kB`` figure of a ``/proc/PID/status`` text."""
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None

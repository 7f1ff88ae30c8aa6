"""What the machine offers the CPU engine.

llama.cpp decodes fastest with one thread per physical core: hyper-threads share the core's
vector units and memory bandwidth, so counting them oversubscribes and slows decoding down.
"""

from __future__ import annotations

import os
from pathlib import Path

_CPU_ROOT = Path("/sys/devices/system/cpu")


def usable_cpus() -> set[int]:
    """The logical CPUs this process may run on (honours taskset and cgroup cpusets)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def physical_cores() -> int:
    """Distinct physical cores among the usable CPUs; the logical count where topology is hidden."""
    cpus = usable_cpus()
    cores: set[tuple[str, str]] = set()
    for cpu in cpus:
        topology = _CPU_ROOT / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return max(1, len(cpus))
        cores.add((package, core))
    return max(1, len(cores))

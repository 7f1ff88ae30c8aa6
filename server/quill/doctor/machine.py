"""What the machine offers a model: cores, memory, and a GPU that llama.cpp can use.

`quill doctor` reads these before it times anything, so that its advice can say why a model
is slow: two cores, little memory, or a GPU that the installed llama.cpp was built without.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from quill_host.assembly import installed_version
from quill_host.hardware import physical_cores, usable_cpus

_MEMINFO = Path("/proc/meminfo")
_NVIDIA_DRIVER = Path("/proc/driver/nvidia/version")


@dataclass(frozen=True, slots=True)
class Machine:
    physical_cores: int  # what llama.cpp runs its threads on
    logical_cpus: int
    memory_bytes: int | None  # None where the system does not say
    available_bytes: int | None
    llama_cpp: str | None  # the installed llama-cpp-python, None without the host extra
    offload: str  # the GPU backend llama.cpp offloads to; "cpu" for a CPU-only build
    nvidia_driver: bool  # an NVIDIA driver is loaded, whatever llama.cpp was built with

    @property
    def gpu_unused(self) -> bool:
        """An NVIDIA GPU is there, but the installed llama.cpp cannot use it."""
        return self.nvidia_driver and self.offload == "cpu"


def inspect_machine() -> Machine:
    total, available = _memory()
    version = installed_version("llama-cpp-python")
    return Machine(
        physical_cores=physical_cores(),
        logical_cpus=len(usable_cpus()),
        memory_bytes=total,
        available_bytes=available,
        llama_cpp=version,
        offload=_offload() if version else "cpu",
        nvidia_driver=_NVIDIA_DRIVER.exists() or shutil.which("nvidia-smi") is not None,
    )


def gib(size: int) -> str:
    """Bytes as people read memory and file sizes."""
    return f"{size / (1 << 30):.1f} GiB"


def _memory() -> tuple[int | None, int | None]:
    """Total and available memory: /proc/meminfo where there is one (Linux, whose
    MemAvailable counts reclaimable caches), else the page count for the total only."""
    try:
        fields = dict(line.split(":", 1) for line in _MEMINFO.read_text().splitlines())
        kib = {name: int(value.split()[0]) * 1024 for name, value in fields.items()}
        return kib.get("MemTotal"), kib.get("MemAvailable")
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), None
    except (AttributeError, OSError, ValueError):
        return None, None


def _offload() -> str:
    # Loads libllama (a second or so), only once the package is known to be there.
    from quill_host.engines.llamacpp import gpu_backend

    return gpu_backend()

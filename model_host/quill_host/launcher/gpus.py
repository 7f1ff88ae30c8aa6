"""The GPUs of this machine, as `nvidia-smi` reports them, or as `--gpus` describes them.

Parsing is a pure function of nvidia-smi's CSV so it is tested on sample outputs; only
`detect_gpus` runs a process.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

NVIDIA_SMI_QUERY = (
    "nvidia-smi",
    "--query-gpu=name,memory.total,memory.used",
    "--format=csv,noheader,nounits",
)
MIB = 1024 * 1024

_FP8_NAME = re.compile(
    r"\b(H100|H200|H800|H20|GH200|B100|B200|GB200|L4|L40S?|RTX 40\d0|RTX 50\d0|Ada|RTX PRO)\b",
    re.IGNORECASE,
)


_BEFORE_AMPERE = re.compile(
    r"\b(V100|T4|P100|P40|P4|K80|M60|TITAN V|TITAN RTX|Quadro RTX|RTX 20\d0|GTX)\b", re.IGNORECASE
)


class GpuError(Exception):
    """The GPUs cannot be found or described; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Gpu:
    """One GPU: its marketing name and its memory in MiB (nvidia-smi's unit)."""

    name: str
    total_mib: int
    used_mib: int = 0

    @property
    def free_bytes(self) -> int:
        """Memory not held by another process, in bytes."""
        return max(0, self.total_mib - self.used_mib) * MIB

    @property
    def total_bytes(self) -> int:
        return self.total_mib * MIB

    @property
    def has_fp8(self) -> bool:
        """Hopper, Ada and Blackwell have FP8 tensor cores (compute capability 8.9 and up)."""
        return _FP8_NAME.search(self.name) is not None

    @property
    def is_ampere_or_newer(self) -> bool:
        """Compute capability 8.0 and up (what FlashInfer and TGI's prefix caching need); a
        GPU known only by its memory (`--gpus 2x80`) is taken to be one."""
        return _BEFORE_AMPERE.search(self.name) is None

    def describe(self) -> str:
        return f"{self.name} ({self.total_mib / 1024:.1f} GiB, {self.used_mib / 1024:.1f} in use)"


def parse_nvidia_smi(output: str) -> tuple[Gpu, ...]:
    """GPUs from `nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,...`."""
    gpus = []
    for line in output.splitlines():
        if not line.strip():
            continue
        fields = [field.strip() for field in line.rsplit(",", 2)]
        if len(fields) != 3:
            raise GpuError(f"unexpected nvidia-smi line: {line!r}")
        name, total, used = fields
        try:
            gpus.append(Gpu(name=name, total_mib=int(float(total)), used_mib=int(float(used))))
        except ValueError:
            raise GpuError(f"unexpected nvidia-smi line: {line!r}") from None
    return tuple(gpus)


_OVERRIDE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+(?:\.\d+)?)\s*(?::\s*(.+?))?\s*$")


def parse_gpus_override(spec: str) -> tuple[Gpu, ...]:
    """`--gpus 2x80` (two GPUs of 80 GiB) or `1x80:H100` (the name decides FP8 support)."""
    match = _OVERRIDE.match(spec)
    if match is None:
        raise GpuError(f"--gpus {spec!r}: expected COUNTxGIB[:NAME], for example 2x80 or 1x80:H100")
    count, gib, name = int(match[1]), float(match[2]), match[3]
    if count < 1 or gib <= 0:
        raise GpuError(f"--gpus {spec!r}: count and memory must be positive")
    gpu = Gpu(name=name or "GPU", total_mib=int(gib * 1024))
    return (gpu,) * count


def summarize(gpus: tuple[Gpu, ...], detailed: bool = False) -> str:
    """`2 x NVIDIA H100 80GB HBM3`: identical GPUs counted once."""
    counts = Counter(gpu.describe() if detailed else gpu.name for gpu in gpus)
    return ", ".join(f"{n} x {what}" if n > 1 else what for what, n in counts.items())


Runner = Callable[[tuple[str, ...]], str]


def _run_nvidia_smi(command: tuple[str, ...]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise GpuError(f"nvidia-smi failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def detect_gpus(runner: Runner = _run_nvidia_smi) -> tuple[Gpu, ...]:
    """This machine's NVIDIA GPUs; none when nvidia-smi is absent."""
    if shutil.which(NVIDIA_SMI_QUERY[0]) is None:
        return ()
    return parse_nvidia_smi(runner(NVIDIA_SMI_QUERY))


def gpus_to_plan_for(spec: str | None) -> tuple[tuple[Gpu, ...], str]:
    """The GPUs a plan is made for, and where they came from: `--gpus SPEC` when given,
    else this machine's."""
    if spec is not None:
        return parse_gpus_override(spec), f"--gpus {spec} (planned)"
    return detect_gpus(), "detected by nvidia-smi"

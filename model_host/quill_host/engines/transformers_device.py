"""Where and how the transformers engine computes: device, dtype and attention kernel.

CUDA with bf16 when a GPU is there, with Flash Attention-2 only when the `flash_attn` package
imports and the GPU is Ampere or newer (compute capability 8.0, which FA-2 requires); otherwise
PyTorch's SDPA. Without a GPU: CPU in float32 (bf16 matmuls are slow on most CPUs) with SDPA.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import torch

_FLASH_MIN_CAPABILITY = (8, 0)


@dataclass(frozen=True, slots=True)
class Placement:
    """The choice, and a sentence saying why, for the log."""

    device: torch.device
    dtype: torch.dtype
    attention: str
    reason: str

    @property
    def dtype_name(self) -> str:
        """`bfloat16` / `float32`, as `/info` reports it."""
        return str(self.dtype).removeprefix("torch.")


def choose_placement() -> Placement:
    """The best placement this machine offers."""
    if not torch.cuda.is_available():
        return Placement(
            torch.device("cpu"), torch.float32, "sdpa", "no CUDA device: CPU, float32, sdpa"
        )
    device = torch.device("cuda", torch.cuda.current_device())
    name = torch.cuda.get_device_name(device)
    capability = torch.cuda.get_device_capability(device)
    where = f"{name} (compute capability {capability[0]}.{capability[1]})"
    if not _flash_attn_imports():
        attention, why = "sdpa", "flash_attn is not installed or does not import"
    elif capability < _FLASH_MIN_CAPABILITY:
        attention, why = "sdpa", "Flash Attention-2 needs compute capability 8.0 or newer"
    else:
        attention, why = "flash_attention_2", "flash_attn is installed and the GPU supports it"
    return Placement(device, torch.bfloat16, attention, f"{where}: bfloat16, {attention} ({why})")


def _flash_attn_imports() -> bool:
    """Whether `flash_attn` loads: installed is not enough, its CUDA build must match torch's."""
    try:
        importlib.import_module("flash_attn")
    except Exception:  # ImportError, or OSError from a mismatched shared library
        return False
    return True

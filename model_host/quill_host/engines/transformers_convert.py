"""GGUF → a Hugging Face checkpoint on disk, converted once per file and reused on every start.

transformers can read a GGUF file, but slowly: for the packaged Gemma 3 270M it takes ~40 s on two
cores (the tokenizer is rebuilt from GGUF metadata, every tensor is de-quantized). The result is
written with `save_pretrained` into the user's cache, keyed by the file (path, size, mtime) and the
transformers version that converted it, so the next start loads safetensors in seconds.

The weights are kept in float32: de-quantized Q4_K values are exact in float32 but not in bf16 or
fp16, and the engine casts to its own dtype at load time anyway.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import platformdirs
from filelock import FileLock

_log = logging.getLogger(__name__)

Converter = Callable[[Path, Path], None]
"""Writes the checkpoint for a GGUF file (first argument) into an empty directory (second)."""

MARKER = "quill-converted.json"
"""Written last into a converted directory: what it was converted from, and that it is complete."""


def cache_root() -> Path:
    """`<user cache>/quill/converted` (or `$QUILL_CACHE_DIR/converted`), private to the user."""
    base = Path(os.environ.get("QUILL_CACHE_DIR") or platformdirs.user_cache_dir("quill"))
    root = base / "converted"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in (base, root):
        path.chmod(0o700)
    return root


def cache_key(gguf: Path) -> str:
    """A directory name that changes whenever the file or the converting transformers does."""
    import transformers

    stat = gguf.stat()
    identity = f"{gguf.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{transformers.__version__}"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    return f"{gguf.stem}-{digest}"


def converted_checkpoint(
    gguf: Path, *, root: Path | None = None, convert: Converter | None = None
) -> tuple[Path, bool]:
    """The HF checkpoint directory for `gguf`, converting it first if needed.

    Returns the directory and whether it was converted by this call. Concurrent hosts do not
    convert twice (a file lock), and a crash mid-conversion leaves no half-written checkpoint
    behind: it is written to a private temporary directory and renamed into place.
    """
    root = root or cache_root()
    target = root / cache_key(gguf)
    if (target / MARKER).is_file():
        return target, False
    with FileLock(str(target) + ".lock"):
        if (target / MARKER).is_file():
            return target, False
        if target.exists():  # Left by a conversion that predates the marker's check: redo it.
            shutil.rmtree(target)
        scratch = Path(tempfile.mkdtemp(dir=root, prefix=f".{target.name}.", suffix=".partial"))
        try:
            started = time.perf_counter()
            _log.warning("converting %s once into %s (this takes a while)", gguf, target)
            (convert or convert_gguf)(gguf, scratch)
            record = {"source": str(gguf.resolve()), "size": gguf.stat().st_size}
            (scratch / MARKER).write_text(json.dumps(record), encoding="utf-8")
            scratch.chmod(0o700)
            os.rename(scratch, target)
            _log.warning("converted in %.1f s", time.perf_counter() - started)
        finally:
            if scratch.exists():
                shutil.rmtree(scratch, ignore_errors=True)
    return target, True


def convert_gguf(gguf: Path, out: Path) -> None:
    """Load `gguf` through transformers (fully de-quantized) and save model and tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(
        folder,
        gguf_file=name,
        dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True),
        local_files_only=True,
    )
    # Every weight is a plain dense tensor now; only the GGUF marker still forbids saving.
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)

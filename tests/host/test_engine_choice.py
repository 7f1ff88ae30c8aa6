"""What `--engine auto` builds: it goes by the model's form (file or directory), not the GPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from quill_host import engines
from quill_host.engines import EngineOptions, create_engine
from quill_host.engines.base import Engine
from quill_host.errors import ModelNotFound
from quill_host.models import ResolvedModel


class _Built(Exception):
    """Raised by the stand-in factories instead of loading a model: names the one chosen."""


def _stand_in(name: str) -> engines.EngineFactory:
    def build(_: EngineOptions) -> Engine:
        raise _Built(name)

    return build


@pytest.fixture(autouse=True)
def _no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "ENGINES", {name: _stand_in(name) for name in engines.ENGINES})


def _options(path: Path) -> EngineOptions:
    return EngineOptions(model=ResolvedModel("some-model", path))


def test_auto_loads_a_gguf_file_with_llama_cpp(tmp_path: Path) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"")
    with pytest.raises(_Built, match=r"^llama\.cpp$"):
        create_engine("auto", _options(weights))


def test_auto_loads_a_model_directory_with_transformers(tmp_path: Path) -> None:
    with pytest.raises(_Built, match=r"^transformers$"):
        create_engine("auto", _options(tmp_path))


def test_llama_cpp_refuses_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="--engine transformers"):
        create_engine("llama.cpp", _options(tmp_path))

"""The converted-checkpoint cache, the device choice and `--model DIR`, without loading a model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("transformers")

import torch

from quill_host.engines import EngineOptions, create_engine
from quill_host.engines import transformers_device as device
from quill_host.engines.transformers_convert import (
    MARKER,
    cache_key,
    cache_root,
    converted_checkpoint,
)
from quill_host.errors import ModelNotFound
from quill_host.models import resolve_model


def fake_gguf(tmp_path: Path) -> Path:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF stand-in")
    return gguf


def test_converts_once_then_reuses(tmp_path: Path) -> None:
    calls: list[Path] = []

    def convert(source: Path, out: Path) -> None:
        calls.append(out)
        (out / "config.json").write_text("{}")

    root = tmp_path / "converted"
    root.mkdir()
    gguf = fake_gguf(tmp_path)
    first, converted = converted_checkpoint(gguf, root=root, convert=convert)
    assert converted
    assert (first / "config.json").is_file()
    assert (first / MARKER).is_file()
    assert first.stat().st_mode & 0o777 == 0o700
    second, converted = converted_checkpoint(gguf, root=root, convert=convert)
    assert (second, converted) == (first, False)
    assert len(calls) == 1
    assert not list(root.glob("*.partial"))


def test_a_failed_conversion_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken(source: Path, out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise RuntimeError("out of memory")

    gguf = fake_gguf(tmp_path)
    with pytest.raises(RuntimeError):
        converted_checkpoint(gguf, root=tmp_path, convert=broken)
    assert not (tmp_path / cache_key(gguf)).exists()
    assert not list(tmp_path.glob("*.partial"))


def test_the_key_follows_the_file(tmp_path: Path) -> None:
    gguf = fake_gguf(tmp_path)
    before = cache_key(gguf)
    assert before.startswith("tiny-")
    stat = gguf.stat()
    os.utime(gguf, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert cache_key(gguf) != before


def test_cache_root_honours_quill_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUILL_CACHE_DIR", str(tmp_path / "cache"))
    root = cache_root()
    assert root == tmp_path / "cache" / "converted"
    assert root.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    ("capability", "flash", "attention"),
    [((9, 0), True, "flash_attention_2"), ((7, 5), True, "sdpa"), ((9, 0), False, "sdpa")],
)
def test_cuda_placement_picks_flash_attention_only_where_it_runs(
    monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int], flash: bool, attention: str
) -> None:
    cuda = torch.cuda
    monkeypatch.setattr(cuda, "is_available", lambda: True)
    monkeypatch.setattr(cuda, "current_device", lambda: 0)
    monkeypatch.setattr(cuda, "get_device_name", lambda _: "Test GPU")
    monkeypatch.setattr(cuda, "get_device_capability", lambda _: capability)
    monkeypatch.setattr(device, "_flash_attn_imports", lambda: flash)
    placement = device.choose_placement()
    assert placement.attention == attention
    assert placement.dtype_name == "bfloat16"
    assert attention in placement.reason


def test_cpu_placement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    placement = device.choose_placement()
    assert (placement.device.type, placement.dtype_name, placement.attention) == (
        "cpu",
        "float32",
        "sdpa",
    )


def test_model_directories_resolve_and_need_transformers(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"config\.json"):
        resolve_model(str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    model = resolve_model(str(tmp_path))
    assert model.is_hf_directory
    assert model.model_id == tmp_path.name
    with pytest.raises(ModelNotFound, match="--engine transformers"):
        create_engine("llama.cpp", EngineOptions(model=model))


def test_a_directory_transformers_cannot_load_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    model = resolve_model(str(tmp_path))
    with pytest.raises(ModelNotFound, match="could not load"):
        create_engine("transformers", EngineOptions(model=model))

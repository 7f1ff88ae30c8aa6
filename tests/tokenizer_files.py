"""Real tokenizer.json files made on the spot, so nothing is downloaded for a test."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Regex, Tokenizer, models, pre_tokenizers


def character_tokenizer(directory: Path) -> Path:
    """A tokenizer.json in which every character is one token."""
    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    path = directory / "tokenizer.json"
    tokenizer.save(str(path))
    return path

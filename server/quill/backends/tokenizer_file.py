"""Token counts from the model's own tokenizer file, for model servers that cannot count.

Ollama and many OpenAI-compatible servers (SGLang, a proxy) have no tokenize route. The
estimate that stands in must stay low so it rarely undercounts, which leaves a good part
of the prompt budget unused. The model's ``tokenizer.json`` (the Hugging Face format,
read by the ``tokenizers`` library) counts exactly, here, without sending anything
anywhere. It comes from the ``tokenizerFile`` setting, or from the model's directory when
the server names its model by a local path (as ``vllm serve /models/coder`` does).
"""

from __future__ import annotations

import logging
from pathlib import Path

from tokenizers import Tokenizer

log = logging.getLogger(__name__)

TOKENIZER_FILE_NAME = "tokenizer.json"


class TokenizerFileError(Exception):
    """The ``tokenizerFile`` setting names nothing that can count tokens."""


class TokenizerFile:
    """A tokenizer read from a local file; counts as the model would, without its
    special tokens (Quill writes those into the prompt itself)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._tokenizer = Tokenizer.from_file(str(path))
        except Exception as error:  # the library raises a bare Exception for a bad file
            raise TokenizerFileError(f"{path} is not a tokenizer.json: {error}") from error

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


def find_tokenizer_file(setting: str, model_id: str) -> Path | None:
    """The tokenizer file to count with: the setting's (a file, or a directory holding
    one), else the one in the model's directory when ``model_id`` is a local path.

    Raises ``TokenizerFileError`` for a setting that names nothing usable, so the user
    learns why counts are estimated; a model id that is not a local directory is not an
    error, just no file.
    """
    if setting:
        path = Path(setting).expanduser()
        if path.is_dir():
            path /= TOKENIZER_FILE_NAME
        if not path.is_file():
            raise TokenizerFileError(f"tokenizerFile: no {path}")
        return path
    candidate = Path(model_id).expanduser() / TOKENIZER_FILE_NAME
    try:
        return candidate if candidate.is_file() else None
    except OSError:  # a model id that cannot be a path (too long, odd characters)
        return None


def load_tokenizer_file(setting: str, model_id: str) -> TokenizerFile | None:
    """The tokenizer to count with, or ``None`` (the caller estimates). A setting that
    cannot be used is logged, which the editor shows, rather than raised: counts are an
    optimisation, and completions must go on without them."""
    try:
        path = find_tokenizer_file(setting, model_id)
        tokenizer = TokenizerFile(path) if path is not None else None
    except TokenizerFileError as error:
        log.warning("%s; token counts are estimated", error)
        return None
    if tokenizer is not None:
        log.info("token counts come from %s", tokenizer.path)
    return tokenizer

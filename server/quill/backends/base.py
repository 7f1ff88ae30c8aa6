"""What every model-server dialect offers the rest of Quill, and the values it trades in.

A dialect is a pair: build the request, read the answer. Everything above this package
(prompts, the completion pipeline, actions) speaks ``ModelServer`` and never a route.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncGenerator
from typing import Protocol

import attrs

MAX_TOKEN_CHARS = 256
"""Longer than any real token's text: an event carrying more is garbage, not a token, and must
not flood the editor."""


@attrs.frozen
class GenerationOptions:
    max_new_tokens: int
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # The document's key (``session_key``), sent as ``X-Session-ID``: a router in front of
    # several replicas (vllm-router's consistent_hash) then sends all of one document's
    # requests to one replica, whose KV cache holds that document's prompt.
    session: str = ""


_SESSION_SALT = secrets.token_bytes(16)


def session_key(document: str) -> str:
    """A stable name for ``document`` in this process that says nothing of it: a keyed
    hash, not the path, which may itself be private."""
    return hashlib.blake2b(document.encode(), key=_SESSION_SALT, digest_size=12).hexdigest()


@attrs.frozen
class FillInMiddle:
    """A fill-in-the-middle request for a server that lays the prompt out itself, in the
    model's own special tokens (llama.cpp's ``/infill``, which reads them from the GGUF):
    the text around the cursor, and other files of the repository as context."""

    prefix: str
    suffix: str
    files: tuple[tuple[str, str], ...] = ()  # (path, text), in the order they go in

    def as_json(self) -> dict[str, object]:
        """For ``quill prompt --json`` and *Show Last Prompt*: what was sent, by part."""
        files = [{"path": path, "text": text} for path, text in self.files]
        return {"prefix": self.prefix, "suffix": self.suffix, "files": files}

    def as_text(self) -> str:
        """The parts in the order the server puts them, each under a heading."""
        files = "".join(f"[file {path}]\n{text}" for path, text in self.files)
        return f"{files}[prefix]\n{self.prefix}\n[suffix]\n{self.suffix}"


@attrs.frozen
class TokenChoice:
    """One of the likeliest first tokens of an answer: where another suggestion branches
    off the likeliest one."""

    text: str
    logprob: float
    special: bool = False  # a control token (the end of the text): where the server says


@attrs.frozen
class ServerInfo:
    """What the server says of itself; ``None`` where it does not say."""

    model_id: str
    max_input_tokens: int | None
    max_total_tokens: int | None = None
    dialect: str = "tgi"  # which API it speaks, for the status and the log
    # It lays out fill-in-the-middle itself for this model (``ModelServer.fill_in_middle``):
    # what a model whose family Quill does not know by its id gets instead of no suffix.
    fills_in_middle: bool = False
    # The model's FIM markers by role ("prefix", "suffix", "middle", "repository",
    # "file_separator"), where the server reads them as the model's tokens (Quill's host).
    fim_markers: dict[str, str] = attrs.field(factory=dict)


class ModelServer(Protocol):
    """One model server. Every call raises ``ModelServerError`` for a failure a user can
    act on; cancelling a call (or closing a stream) closes its connection, which stops
    the server's generation."""

    base_url: str

    async def info(self) -> ServerInfo: ...

    async def tokenize(self, text: str) -> int | None:
        """Tokens of ``text`` in the model's own tokenizer; ``None`` if the server has
        no way to count them (the caller estimates)."""
        ...

    def generate_stream(self, prompt: str, options: GenerationOptions) -> AsyncGenerator[str, None]:
        """The text of each generated piece of a raw prompt, as it arrives."""
        ...

    def fill_in_middle(
        self, request: FillInMiddle, options: GenerationOptions
    ) -> AsyncGenerator[str, None]:
        """As ``generate_stream``, for a prompt the server lays out; only where ``info()``
        says it ``fills_in_middle``, else a ``ModelServerError`` (``VALIDATION``)."""
        ...

    async def first_tokens(
        self, prompt: str, options: GenerationOptions, count: int
    ) -> list[TokenChoice]:
        """The ``count`` likeliest first tokens of the answer to a raw prompt, likeliest
        first; ``[]`` where the server does not say them."""
        ...

    async def chat(self, messages: list[dict[str, str]], options: GenerationOptions) -> str:
        """One answer to chat messages, through the model's own chat template."""
        ...

    async def health(self) -> bool: ...

    async def aclose(self) -> None: ...

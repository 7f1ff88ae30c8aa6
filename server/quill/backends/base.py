"""What every model-server dialect offers the rest of Quill, and the values it trades in.

A dialect is a pair: build the request, read the answer. Everything above this package
(prompts, the completion pipeline, actions) speaks ``ModelServer`` and never a route.
"""

from __future__ import annotations

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


@attrs.frozen
class ServerInfo:
    """What the server says of itself; ``None`` where it does not say."""

    model_id: str
    max_input_tokens: int | None
    max_total_tokens: int | None = None
    dialect: str = "tgi"  # which API it speaks, for the status and the log


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

    async def chat(self, messages: list[dict[str, str]], options: GenerationOptions) -> str:
        """One answer to chat messages, through the model's own chat template."""
        ...

    async def health(self) -> bool: ...

    async def aclose(self) -> None: ...

"""The body of OpenAI's ``/v1/chat/completions``, validated so that bad input is a clear 422.

Fields follow OpenAI (and vLLM where OpenAI is silent); unknown fields are ignored, as on the
TGI routes. Only what this host can honour is accepted: text content (parts of type ``text``
are joined, as vLLM does for templates that expect a string), one choice, no tools: a request
for tool calls or images is refused rather than answered as if they were not there.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from quill_host.errors import ValidationFailed
from quill_host.protocol import MAX_STOP_SEQUENCES, GenerateParameters

Role = Literal["system", "developer", "user", "assistant", "tool"]
"""OpenAI's roles; whether a template accepts a role (and in which order) is the template's say."""


class ChatMessage(BaseModel):
    """One turn of the conversation; ``content`` is text once validated."""

    model_config = ConfigDict(extra="ignore")

    role: Role
    content: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _join_text_parts(cls, content: Any) -> Any:
        if not isinstance(content, list):
            return content
        texts = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            if kind != "text" or not isinstance(part.get("text"), str):
                raise ValueError(f"only text content parts are supported, not {kind!r}")
            texts.append(part["text"])
        return "\n".join(texts)

    @model_validator(mode="after")
    def _content_needed(self) -> ChatMessage:
        # An assistant turn may carry tool calls instead of text; every other turn is text.
        if self.content is None and self.role != "assistant":
            raise ValueError(f"a {self.role} message needs content")
        return self

    def for_template(self) -> dict[str, str]:
        """The message as chat templates read it. OpenAI's ``developer`` role replaced
        ``system`` for its own newer models; templates know only ``system``."""
        role = "system" if self.role == "developer" else self.role
        return {"role": role, "content": self.content or ""}


class StreamOptions(BaseModel):
    """``stream_options``: only ``include_usage`` (a last chunk with the token counts)."""

    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The request; ``model`` is accepted and ignored, as on ``/v1/completions`` (one model)."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    # No upper bound, as in vLLM (OpenAI's own API stops at 2).
    temperature: float | None = Field(default=None, ge=0.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=0, lt=2**32)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1)
    tools: list[Any] | None = None

    @field_validator("stop")
    @classmethod
    def _usable_stops(cls, stop: str | list[str] | None) -> str | list[str] | None:
        stops = [stop] if isinstance(stop, str) else stop or []
        if any(not s for s in stops):
            raise ValueError("stop sequences must not be empty")
        if len(stops) > MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences")
        return stop

    @field_validator("tools")
    @classmethod
    def _no_tools(cls, tools: list[Any] | None) -> list[Any] | None:
        if tools:
            raise ValueError("tool calls are not supported by this host")
        return tools

    def stops(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    def template_messages(self) -> list[dict[str, str]]:
        return [message.for_template() for message in self.messages]

    def parameters(self) -> GenerateParameters:
        """TGI parameters for the engine. OpenAI samples unless temperature is 0 (its default
        temperature is 1); no token limit means the rest of the context, as in vLLM."""
        sampling = self.temperature is None or self.temperature > 0
        limit = self.max_completion_tokens or self.max_tokens  # the newer name wins
        try:
            return GenerateParameters(
                max_new_tokens=limit,
                do_sample=sampling,
                temperature=self.temperature if sampling and self.temperature != 1.0 else None,
                top_p=self.top_p if self.top_p is not None and self.top_p < 1.0 else None,
                stop=self.stops(),
                seed=self.seed,
            )
        except ValidationError as error:  # checked above already; never a 500 all the same
            raise ValidationFailed(str(error)) from None

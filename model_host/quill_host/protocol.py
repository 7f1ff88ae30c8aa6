"""The TGI (text-generation-inference) wire shapes, as pydantic models.

Clients written for TGI (huggingface_hub, llm-ls, Quill's own server) must be able to talk to this
host unchanged, so field names, defaults and validation messages follow TGI's router. Unknown
request fields are ignored rather than rejected, as TGI does, so that newer clients keep working.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from quill_host.error_types import ErrorType

MAX_STOP_SEQUENCES = 4
"""TGI's default `--max-stop-sequences`; also reported by `/info`."""

MAX_TOP_N_TOKENS = 5
"""TGI's default `--max-top-n-tokens`: the most alternatives a token may be reported with."""


class _Lenient(BaseModel):
    """Requests ignore unknown fields, like TGI, so newer clients keep working."""

    model_config = ConfigDict(extra="ignore")


class GenerateParameters(_Lenient):
    """`parameters` of a TGI request, with TGI's defaults and range checks."""

    max_new_tokens: int | None = Field(default=20, ge=1)
    temperature: float | None = Field(default=None, gt=0.0)
    top_p: float | None = Field(default=None, gt=0.0, lt=1.0)
    top_k: int | None = Field(default=None, gt=0)
    typical_p: float | None = Field(default=None, gt=0.0, lt=1.0)
    repetition_penalty: float | None = Field(default=None, gt=0.0)
    do_sample: bool = False
    stop: list[str] = Field(default_factory=list, max_length=MAX_STOP_SEQUENCES)
    seed: int | None = Field(default=None, ge=0, lt=2**32)
    details: bool = False
    decoder_input_details: bool = False
    return_full_text: bool | None = False
    truncate: int | None = Field(default=None, ge=1)
    best_of: int | None = Field(default=None, ge=1, le=1)
    # The likeliest tokens at each step (the chosen one among them), as TGI reports them: a
    # client's alternatives to the answer's first token (Quill's other suggestions).
    top_n_tokens: int | None = Field(default=None, ge=0, le=MAX_TOP_N_TOKENS)

    @field_validator("stop")
    @classmethod
    def _no_empty_stop(cls, stop: list[str]) -> list[str]:
        # An empty stop string would match at once and silently produce nothing.
        if any(not s for s in stop):
            raise ValueError("stop sequences must not be empty")
        return stop

    def sampling_seed(self) -> int | None:
        """The seed this request samples with (reported back, as TGI does), or ``None`` when
        it decodes greedily; a random one when sampling was asked for without a seed."""
        if not self.sampling:
            return None
        return self.seed if self.seed is not None else random.randrange(2**32)

    @property
    def sampling(self) -> bool:
        """Whether to sample rather than decode greedily.

        TGI samples when `do_sample` is set or when any warper is asked for (temperature other
        than 1, top_k, top_p, typical_p); otherwise it is greedy and deterministic.
        """
        return (
            self.do_sample
            or (self.temperature is not None and self.temperature != 1.0)
            or self.top_k is not None
            or self.top_p is not None
            or self.typical_p is not None
        )


class GenerateRequest(_Lenient):
    """The body of `/generate`, `/generate_stream` and `/`."""

    inputs: str
    parameters: GenerateParameters = Field(default_factory=GenerateParameters)
    stream: bool = False


class TokenizeRequest(_Lenient):
    """The body of `/tokenize`; TGI accepts (and ignores here) `parameters`."""

    inputs: str
    parameters: GenerateParameters = Field(default_factory=GenerateParameters)


FinishReason = Literal["length", "eos_token", "stop_sequence"]


class Token(BaseModel):
    """One generated token as TGI streams it."""

    id: int
    text: str
    logprob: float
    special: bool


class Details(BaseModel):
    """What TGI reports about a finished generation (the stream's last event carries it).

    `reused_prompt_tokens` is Quill's extension: how many prompt tokens were served from the KV
    cache instead of being computed, so clients can measure how well their prompts reuse it.
    """

    finish_reason: FinishReason
    generated_tokens: int
    seed: int | None
    input_length: int
    reused_prompt_tokens: int = 0


class PrefillToken(BaseModel):
    """A prompt token in `/generate`'s details (TGI fills it only on request)."""

    id: int
    text: str
    logprob: float | None = None


class GenerateDetails(Details):
    """`/generate`'s details: the stream's, plus the tokens themselves, as TGI sends them."""

    prefill: list[PrefillToken] = Field(default_factory=list)
    tokens: list[Token] = Field(default_factory=list)
    top_tokens: list[list[Token]] = Field(default_factory=list)  # per token, with `top_n_tokens`


class GenerateResponse(BaseModel):
    """`/generate`'s answer: one object (TGI's `/` wraps it in a list)."""

    generated_text: str
    details: GenerateDetails | None = None


class StreamResponse(BaseModel):
    """One `data:` event of `/generate_stream`; only the last has text and details."""

    index: int
    token: Token
    generated_text: str | None = None
    details: Details | None = None
    top_tokens: list[Token] | None = None  # with `top_n_tokens`: likeliest first


class TokenSpan(BaseModel):
    """One entry of `/tokenize`'s answer: the token and where its text lies in the input."""

    id: int
    text: str
    start: int
    stop: int


class Info(BaseModel):
    """`/info`: what a TGI client reads to size its prompts."""

    model_config = ConfigDict(protected_namespaces=())

    model_id: str
    model_sha: str | None = None
    model_dtype: str
    model_device_type: str = "cpu"
    model_pipeline_tag: str | None = "text-generation"
    max_concurrent_requests: int
    max_best_of: int = 1
    max_stop_sequences: int = MAX_STOP_SEQUENCES
    max_input_tokens: int
    max_total_tokens: int
    max_client_batch_size: int = 1
    validation_workers: int = 1
    router: str = "quill-host"
    # Not TGI's: the model's FIM markers by role (prefix, suffix, middle, repository,
    # file_separator), which the host reads as its tokens; absent for a model without FIM.
    fill_in_middle: dict[str, str] | None = None
    version: str
    sha: str | None = None
    docker_label: str | None = None


class ErrorBody(BaseModel):
    """Every error body, HTTP or SSE: a message for people, a type for programs."""

    error: str
    error_type: ErrorType

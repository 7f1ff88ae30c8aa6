"""The engine interface: what the scheduler and the HTTP layer may ask of a model.

An engine owns one model and its KV cache. Generating is not thread-safe: the scheduler runs
`generate` in one worker thread, one request at a time, so engines keep no locks. `generate` is
blocking and yields token by token, so the caller can stream and can stop it between any two
tokens.

Tokenizing must stay safe beside a running generation, on another thread: `/tokenize` answers on
the event loop while the worker generates, because the language server counts tokens on its
completion path and a count queued behind a generation would wait for the whole answer. So
`tokenize`, `token_piece`, `is_special` and `token_spans` touch only the vocabulary (and caches of
it), never the KV cache or sampling state. llama.cpp tokenizes against its read-only vocabulary,
with work buffers of each call's own (its tokenizer tests run it from many threads at once); a
Hugging Face fast tokenizer encodes in Rust through shared references once its settings are
fixed, which the transformers engine's first `tokenize`, at load, does.

`Engine` is what callers see; `DecodingEngine` is the generation loop that the engines computing
here (llama.cpp, transformers) share, so that they differ only in how they compute and sample.
"""

from __future__ import annotations

import codecs
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Generic, NamedTuple, TypeVar, final

from quill_host.errors import GenerationFailed, ValidationFailed
from quill_host.fim_markers import FimMarkers
from quill_host.protocol import FinishReason, GenerateParameters, TokenSpan
from quill_host.textstream import TextAssembler


@dataclass(frozen=True, slots=True)
class Finish:
    """Why and how a generation ended; carried by its last token."""

    reason: FinishReason
    seed: int | None
    input_length: int
    reused_prompt_tokens: int


@dataclass(frozen=True, slots=True)
class TopToken:
    """One of the likeliest tokens at a step (TGI's `top_tokens`), chosen or not."""

    id: int
    text: str
    logprob: float
    special: bool


@dataclass(frozen=True, slots=True)
class GeneratedToken:
    """One token of output; `finish` is set on the last one only. `top`: the likeliest
    tokens at its step, likeliest first, where the request asked (`top_n_tokens`)."""

    id: int
    text: str
    logprob: float
    special: bool
    finish: Finish | None = None
    top: tuple[TopToken, ...] = ()


StopCheck = Callable[[], bool]

Prompt = str | tuple[int, ...]
"""What a generation continues: text, tokenized as user text (TGI's `inputs`: a `<eos>` in it
stays text, only the model's FIM markers become their tokens, and the BOS token is added), or
token ids made already, by `tokenize_rendered`
from a rendered chat template, whose turn markers must stay control tokens."""


@dataclass(frozen=True, slots=True)
class ChatTemplate:
    """A model's own chat template (Jinja source), and the texts of the BOS and EOS tokens
    that templates write by name (`{{ bos_token }}`)."""

    source: str
    bos_token: str
    eos_token: str


class Engine(ABC):
    """A loaded model that can tokenize and generate."""

    @property
    @abstractmethod
    def model_id(self) -> str:
        """The name clients see in `/info` and use to pick a prompt format."""

    @property
    @abstractmethod
    def context_size(self) -> int:
        """Prompt plus generated tokens must fit in this many positions."""

    @property
    @abstractmethod
    def dtype(self) -> str:
        """The weights' type, for `/info` (e.g. `Q4_K_M`)."""

    @property
    def device_type(self) -> str:
        """Where the model runs, for `/info`'s `model_device_type` (`cpu`, `cuda`, `metal`)."""
        return "cpu"

    @abstractmethod
    def tokenize(self, text: str) -> list[int]:
        """The token ids the model would see for `text`, with the BOS token if it adds one.

        Called from the event loop while `generate` may be running: see the module's note.
        """

    @abstractmethod
    def token_piece(self, token: int) -> bytes:
        """The raw bytes of one token (special tokens as their literal text)."""

    @property
    def fim_markers(self) -> FimMarkers | None:
        """The model's fill-in-the-middle markers, which `tokenize` reads as their tokens; None
        for a model trained without them."""
        return None

    @property
    def chat_template(self) -> ChatTemplate | None:
        """The model's chat template, or None when it ships none (a base model such as the
        packaged Gemma 3 270M): chat routes then refuse with a 422 instead of guessing one."""
        return None

    def tokenize_rendered(self, text: str) -> tuple[int, ...]:
        """The tokens of a rendered chat template, as llama-cpp-python and transformers'
        `apply_chat_template` make them: control-token texts (`<start_of_turn>`) become control
        tokens, and no BOS is added, since the template writes it. Only engines that report a
        `chat_template` are asked; like `tokenize`, it is called from the event loop."""
        raise NotImplementedError(f"{type(self).__name__} renders no chat template")

    def prompt_tokens(self, prompt: Prompt) -> list[int]:
        """The token ids `generate` runs for `prompt` (before truncation)."""
        return self.tokenize(prompt) if isinstance(prompt, str) else list(prompt)

    @abstractmethod
    def generate(
        self, prompt: Prompt, params: GenerateParameters, should_stop: StopCheck
    ) -> Iterator[GeneratedToken]:
        """Yield the continuation of `prompt` token by token.

        Raises `ValidationFailed` before any work if the prompt cannot fit. Checks `should_stop`
        before each token and simply ends (no `finish`) once it returns true: the client is gone.
        """

    @abstractmethod
    def is_special(self, token: int) -> bool:
        """Whether `token` is a control token (BOS, EOS, turn markers) rather than text."""

    def token_spans(self, text: str) -> list[TokenSpan]:
        """`/tokenize`'s answer: each token with the character range it covers in `text`.

        Offsets come from decoding the pieces back in order, so they are exact whenever the
        tokenizer round-trips the text; special tokens cover an empty range, but FIM markers,
        which are in the text, cover their own.
        """
        spans: list[TokenSpan] = []
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        markers = set(self.fim_markers.ids.values()) if self.fim_markers else set()
        position = 0
        for token in self.tokenize(text):
            piece = self.token_piece(token)
            literal = piece.decode("utf-8", errors="replace")
            empty = self.is_special(token) and token not in markers
            length = 0 if empty else len(decoder.decode(piece))
            spans.append(TokenSpan(id=token, text=literal, start=position, stop=position + length))
            position += length
        return spans


class Sampled(NamedTuple):
    """A chosen token and its log-probability under the raw model distribution (before any
    warper), which is what TGI reports."""

    token: int
    logprob: float


SamplerT = TypeVar("SamplerT")
"""An engine's per-request sampling state (a native sampler chain, a seeded chooser)."""


class DecodingEngine(Engine, Generic[SamplerT]):
    """An engine that computes its model here, token by token, over a KV cache it keeps.

    Its `generate` is shared so that every such engine truncates, seeds, stops, streams text and
    reports the end alike, token for token; engines differ only in how they compute and choose.
    Each brings its cache to the prompt (`_prefill`, where its KV reuse lives), chooses a token
    from the logits of the last computed position (`_sample`) and computes a chosen token after
    the cached ones (`_decode`).
    """

    @property
    @abstractmethod
    def bos_token(self) -> int | None:
        """The BOS token `tokenize` puts first, which truncation keeps; None if it adds none."""

    @abstractmethod
    def is_end_of_generation(self, token: int) -> bool:
        """Whether `token` ends the answer (EOS, end of turn): its text is never shown."""

    @abstractmethod
    def _prefill(self, tokens: Sequence[int], should_stop: StopCheck) -> int | None:
        """Bring the KV cache to `tokens`, computing only what it does not hold; the number of
        prompt tokens reused.

        The last token is always computed, because `_sample` needs fresh logits. Returns None
        when `should_stop` turned true between batches (the cache stays valid for what was
        computed). An exception leaves the cache to `_forget`.
        """

    @abstractmethod
    def _sampler(
        self, params: GenerateParameters, seed: int | None, prompt: Sequence[int]
    ) -> AbstractContextManager[SamplerT]:
        """One request's token choice by TGI's rules (greedy when `seed` is None), having seen
        `prompt` for the repetition penalty; open for the whole request, so native state is
        freed however it ends."""

    @abstractmethod
    def _sample(self, sampler: SamplerT) -> Sampled:
        """The next token, chosen by `sampler` from the last computed position's logits."""

    @abstractmethod
    def _top(self, count: int) -> list[Sampled]:
        """The ``count`` (one or more) likeliest tokens at the last computed position,
        likeliest first, with their log-probabilities under the raw model distribution (as
        `_sample`'s)."""

    @abstractmethod
    def _decode(self, token: int) -> None:
        """Compute `token` after the cached ones, giving the logits `_sample` reads next. An
        exception leaves the cache to `_forget`."""

    @abstractmethod
    def _forget(self) -> None:
        """Drop the live KV cache (parked sequences stay): `generate` calls it after a failed
        computation, which leaves the cache in a state nobody knows."""

    @final
    def generate(
        self, prompt: Prompt, params: GenerateParameters, should_stop: StopCheck
    ) -> Iterator[GeneratedToken]:
        tokens, max_new = fit_prompt(
            self.prompt_tokens(prompt), params, self.context_size, self.bos_token
        )
        seed = params.sampling_seed()
        try:
            reused = self._prefill(tokens, should_stop)
        except Exception as error:
            self._forget()
            raise GenerationFailed(f"prompt evaluation failed: {error}") from error
        if reused is None:
            return

        def finish(reason: FinishReason) -> Finish:
            return Finish(reason, seed, len(tokens), reused)

        text = TextAssembler(params.stop)
        top_count = params.top_n_tokens or 0
        with self._sampler(params, seed, tokens) as sampler:
            for index in range(max_new):
                if should_stop():
                    return
                choices = self._top(top_count) if top_count else []
                top = tuple(self._top_token(*choice) for choice in choices)
                token, logprob = self._sample(sampler)
                generated = self._shape(token, logprob, text, index == max_new - 1, finish)
                if top:
                    generated = replace(generated, top=top)
                yield generated
                if generated.finish is not None:
                    return
                # The last token is never computed: nothing would read its logits, and the
                # cache then holds exactly prompt + output minus one, ready for the next prefix.
                try:
                    self._decode(token)
                except Exception as error:
                    self._forget()
                    raise GenerationFailed(f"decoding failed: {error}") from error

    def _top_token(self, token: int, logprob: float) -> TopToken:
        """An alternative as TGI reports it: its own text (a partial UTF-8 character
        replaced), and an end-of-generation token as the special token it is."""
        text = self.token_piece(token).decode("utf-8", errors="replace")
        special = self.is_special(token) or self.is_end_of_generation(token)
        return TopToken(token, text, logprob, special)

    def _shape(
        self,
        token: int,
        logprob: float,
        text: TextAssembler,
        last: bool,
        finish: Callable[[FinishReason], Finish],
    ) -> GeneratedToken:
        """One chosen token as `generate` yields it, with `finish` set when it ends the answer:
        an end-of-generation token, a completed stop sequence, or the last token allowed. Its
        text comes through `text`, which holds back split UTF-8 and cuts at a stop sequence."""
        if self.is_end_of_generation(token):
            return GeneratedToken(token, "", logprob, True, finish("eos_token"))
        piece = text.push(self.token_piece(token), final=last)
        reason: FinishReason | None = "stop_sequence" if piece.stopped else None
        if reason is None and last:
            reason = "length"
        return GeneratedToken(
            token,
            piece.text,
            logprob,
            self.is_special(token),
            finish(reason) if reason is not None else None,
        )


def fit_prompt(
    tokens: Sequence[int], params: GenerateParameters, context_size: int, bos: int | None
) -> tuple[list[int], int]:
    """Apply `truncate` and check the context budget, as TGI's router does.

    Returns the prompt tokens to run and the number of new tokens to allow. `truncate` keeps the
    last tokens (the text nearest the cursor) and the BOS token, which the model needs first.
    """
    kept = list(tokens)
    if params.truncate is not None and len(kept) > params.truncate:
        if bos is not None and kept and kept[0] == bos:
            kept = [bos, *kept[len(kept) - params.truncate + 1 :]] if params.truncate > 1 else [bos]
        else:
            kept = kept[len(kept) - params.truncate :]
    max_new = params.max_new_tokens
    if max_new is None:
        max_new = context_size - len(kept)
    if len(kept) + max_new > context_size:
        raise ValidationFailed(
            f"`inputs` tokens + `max_new_tokens` must be <= {context_size}. "
            f"Given: {len(kept)} `inputs` tokens and {max_new} `max_new_tokens`"
        )
    if max_new < 1:
        raise ValidationFailed(f"`inputs` must have less than {context_size} tokens")
    return kept, max_new

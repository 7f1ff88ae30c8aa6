"""The transformers engine: any causal LM that transformers 5 loads, with KV-cache reuse.

Made for CUDA (bf16, Flash Attention-2 where it can run) and usable on CPU. It loads a local
Hugging Face directory, or a GGUF file converted once into one (see `transformers_convert`); it
never downloads anything.

Prefix reuse works as in the llama.cpp engine: the last sequence's tokens and its `DynamicCache`
are kept; a new prompt is compared with them, the cache is cropped to the longest common prefix
and only the rest is computed. The cache is a plain `DynamicCache()` on purpose: one built from
the config gives Gemma 3's sliding-window layers a rolling buffer that cannot be cropped back,
while the plain one keeps every position and crops exactly (bit-identical logits).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer

from quill_host.engines.base import ChatTemplate, DecodingEngine, Sampled, StopCheck
from quill_host.engines.transformers_cache import PrefixCache
from quill_host.engines.transformers_convert import converted_checkpoint
from quill_host.engines.transformers_device import Placement, choose_placement
from quill_host.engines.transformers_sampler import TokenChooser
from quill_host.engines.transformers_tokens import TokenBytes
from quill_host.errors import ModelNotFound
from quill_host.hardware import physical_cores
from quill_host.protocol import GenerateParameters

_log = logging.getLogger(__name__)

PREFILL_CHUNK = 512
"""Prompt tokens per forward pass: bounds activation memory and how long a cancel waits."""


@dataclass(frozen=True, slots=True)
class LoadReport:
    """How the model came to be loaded, for logs, tests and the benchmark."""

    checkpoint: Path
    converted_now: bool
    seconds: float


@dataclass(slots=True)
class _Choosing:
    """One request's token choice: the repetition penalty reads every token so far."""

    chooser: TokenChooser
    history: list[int]


class TransformersEngine(DecodingEngine[_Choosing]):
    """One model, one live sequence (so one request at a time, as the scheduler guarantees)."""

    def __init__(
        self,
        model_id: str,
        source: Path,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        *,
        trust_remote_code: bool = False,
        prefix_cache: bool = True,
        slot_budget_bytes: int = 256 << 20,
    ) -> None:
        started = time.perf_counter()
        self._model_id = model_id
        self._placement = choose_placement()
        on_gpu = self._placement.device.type == "cuda"
        slower = on_gpu and self._placement.attention != "flash_attention_2"
        level = logging.WARNING if slower else logging.INFO
        _log.log(level, "transformers engine: %s", self._placement.reason)
        if not on_gpu:
            torch.set_num_threads(n_threads or physical_cores())
        checkpoint, converted = source, False
        try:
            if source.is_file():
                checkpoint, converted = converted_checkpoint(source)
            self._tokenizer: Any = AutoTokenizer.from_pretrained(
                checkpoint, trust_remote_code=trust_remote_code, local_files_only=True
            )
            self._model: Any = self._load_model(checkpoint, trust_remote_code)
        except (OSError, ValueError, ImportError) as error:
            hint = ""
            if "trust_remote_code" in str(error) and not trust_remote_code:
                hint = " (if you trust its code, pass --trust-remote-code)"
            raise ModelNotFound(
                f"transformers could not load {checkpoint}{hint}: {error}"
            ) from error
        self.load_report = LoadReport(checkpoint, converted, time.perf_counter() - started)
        _log.info("loaded %s in %.1f s", checkpoint, self.load_report.seconds)

        config = self._model.config
        limit = getattr(config, "max_position_embeddings", None)
        self._context_size = min(n_ctx, limit) if isinstance(limit, int) else n_ctx
        self._special = self._special_ids()
        self._eos = self._eos_ids()
        self._bytes = TokenBytes(self._tokenizer, self._special)
        probe = self.tokenize("a")
        bos = self._tokenizer.bos_token_id
        self._bos: int | None = bos if probe and probe[0] == bos else None
        self._chat_template = self._read_chat_template()
        self._template_backend: Tokenizer | None = None
        if self._chat_template is not None:
            self._template_backend = _independent_backend(self._tokenizer)
        self._cache = PrefixCache(enabled=prefix_cache, slot_budget_bytes=slot_budget_bytes)
        self._logits: torch.Tensor | None = None  # the last computed position's, for `_sample`
        # transformers 5.2x renamed `past_key_values` to `cache` (the old name warns, then goes);
        # a model's own code (trust_remote_code) may predate both that and `logits_to_keep`.
        parameters = inspect.signature(self._model.forward).parameters
        cache_argument = "cache" if "cache" in parameters else "past_key_values"
        self._forward_options: dict[str, Any] = {"use_cache": True}
        if "logits_to_keep" in parameters:
            self._forward_options["logits_to_keep"] = 1  # not the whole vocabulary per position
        self._cache_argument = cache_argument

    def _load_model(self, checkpoint: Path, trust_remote_code: bool) -> Any:
        placement = self._placement
        model: Any = AutoModelForCausalLM.from_pretrained(
            checkpoint,
            dtype=placement.dtype,
            attn_implementation=placement.attention,
            device_map={"": placement.device} if placement.device.type == "cuda" else None,
            trust_remote_code=trust_remote_code,
            local_files_only=True,
        )
        return model.eval()

    def _special_ids(self) -> set[int]:
        special = {int(i) for i in self._tokenizer.all_special_ids}
        for token_id, added in self._tokenizer.added_tokens_decoder.items():
            if getattr(added, "special", False):
                special.add(int(token_id))
        return special

    def _eos_ids(self) -> set[int]:
        found: set[int] = set()
        for value in (self._model.generation_config.eos_token_id, self._tokenizer.eos_token_id):
            if isinstance(value, int):
                found.add(value)
            elif isinstance(value, list):
                found.update(int(v) for v in value)
        return found

    def _read_chat_template(self) -> ChatTemplate | None:
        template = self._tokenizer.chat_template
        if isinstance(template, dict):  # named templates: the unnamed one is "default"
            template = template.get("default")
        if not isinstance(template, str) or not template:
            return None
        return ChatTemplate(
            template, str(self._tokenizer.bos_token or ""), str(self._tokenizer.eos_token or "")
        )

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def context_size(self) -> int:
        return self._context_size

    @property
    def chat_template(self) -> ChatTemplate | None:
        return self._chat_template

    def tokenize_rendered(self, text: str) -> tuple[int, ...]:
        if self._template_backend is not None:
            encoded = self._template_backend.encode(text, add_special_tokens=False)
            return tuple(int(token) for token in encoded.ids)
        # A Python tokenizer takes `split_special_tokens` per call, without changing itself.
        ids = self._tokenizer(text, add_special_tokens=False, split_special_tokens=False)
        return tuple(int(token) for token in ids["input_ids"])

    @property
    def dtype(self) -> str:
        return self._placement.dtype_name

    @property
    def device_type(self) -> str:
        return str(self._placement.device.type)

    @property
    def placement(self) -> Placement:
        """Device, dtype and attention kernel in use, with the reason they were chosen."""
        return self._placement

    def tokenize(self, text: str) -> list[int]:
        # `split_special_tokens`: text that looks like `<eos>` in user code is text, not control.
        encoded = self._tokenizer(text, add_special_tokens=True, split_special_tokens=True)
        return [int(token) for token in encoded["input_ids"]]

    def token_piece(self, token: int) -> bytes:
        return self._bytes(token)

    def is_special(self, token: int) -> bool:
        return token in self._special

    @property
    def bos_token(self) -> int | None:
        return self._bos

    def is_end_of_generation(self, token: int) -> bool:
        return token in self._eos

    def _prefill(self, tokens: Sequence[int], should_stop: StopCheck) -> int | None:
        self._logits = None  # never sample from the last request's
        reused = self._cache.prepare(tokens)
        for start in range(reused, len(tokens), PREFILL_CHUNK):
            if should_stop():
                return None
            self._forward(tokens[start : start + PREFILL_CHUNK])
        return reused

    def _sampler(
        self, params: GenerateParameters, seed: int | None, prompt: Sequence[int]
    ) -> AbstractContextManager[_Choosing]:
        chooser = TokenChooser(params, seed, self._placement.device)
        return nullcontext(_Choosing(chooser, list(prompt)))

    def _sample(self, sampler: _Choosing) -> Sampled:
        logits = self._logits
        assert logits is not None  # `_prefill` computes at least one token
        with torch.inference_mode():
            token = sampler.chooser.choose(logits, sampler.history)
            logprob = float(torch.log_softmax(logits, dim=-1)[token].item())
        sampler.history.append(token)
        return Sampled(token, logprob)

    def _top(self, count: int) -> list[Sampled]:
        logits = self._logits
        assert logits is not None  # `_prefill` computes at least one token
        with torch.inference_mode():
            best = torch.topk(torch.log_softmax(logits, dim=-1), min(count, logits.shape[-1]))
        return [
            Sampled(int(token), float(logprob))
            for logprob, token in zip(best.values.tolist(), best.indices.tolist(), strict=True)
        ]

    def _decode(self, token: int) -> None:
        self._forward([token])

    def _forget(self) -> None:
        self._cache.reset()
        self._logits = None

    def _forward(self, tokens: Sequence[int]) -> None:
        """Run `tokens` after the cached ones, keeping the last position's float32 logits."""
        ids = torch.tensor([list(tokens)], dtype=torch.long, device=self._placement.device)
        with torch.inference_mode():
            cache = {self._cache_argument: self._cache.kv}
            output = self._model(input_ids=ids, **self._forward_options, **cache)
            self._cache.appended(tokens)
            self._logits = output.logits[0, -1].float()


def _independent_backend(tokenizer: Any) -> Tokenizer | None:
    """A copy of a fast tokenizer's Rust backend that parses control-token texts.

    transformers switches the one shared backend's `encode_special_tokens` on every call whose
    `split_special_tokens` differs, and `tokenize` (which splits them, on another thread) must
    never see it switched; so rendered chats go through a backend of their own. None for a
    Python tokenizer, which takes the setting per call.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    copy = Tokenizer.from_str(backend.to_str())
    copy.encode_special_tokens = False
    return copy

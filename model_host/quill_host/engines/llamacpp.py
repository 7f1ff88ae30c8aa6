"""The CPU engine: a GGUF model through llama-cpp-python, with KV-cache reuse across requests.

Prefix reuse is the point of this engine. While a user types, successive prompts share everything
but the last few tokens; the KV cache of the previous request is kept, the prompt is compared
with the tokens already in it, the cache is cut back to the longest common prefix and only the
rest is computed. Gemma 3's sliding-window layers would otherwise keep only the last window of
positions, which makes a cut-back cache unusable, so the full-size SWA cache is requested.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

from quill_host.engines.base import ChatTemplate, DecodingEngine, Sampled, StopCheck
from quill_host.engines.llamacpp_sampler import SamplerChain
from quill_host.fim_markers import FimMarkers
from quill_host.hardware import physical_cores
from quill_host.kv.chunks import Chunk, Drift, find_chunk
from quill_host.kv.prefix import common_prefix_length
from quill_host.kv.slots import SavedSequence, SlotPool
from quill_host.protocol import GenerateParameters

_DTYPES = {
    llama_cpp.LLAMA_FTYPE_ALL_F32: "F32",
    llama_cpp.LLAMA_FTYPE_MOSTLY_F16: "F16",
    llama_cpp.LLAMA_FTYPE_MOSTLY_BF16: "BF16",
    llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0: "Q8_0",
    llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0: "Q4_0",
    llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M: "Q4_K_M",
    llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_S: "Q4_K_S",
    llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M: "Q5_K_M",
    llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K: "Q6_K",
}


PREFILL_BATCH_TOKENS = 32
"""Prompt tokens evaluated at once. A cancelled request is noticed between batches only, so a
batch is how long a superseded prefill (a warm-up, mostly) can hold the worker while the
request a user waits for waits: 512 tokens (llama.cpp's default) take 6 s for
Qwen2.5-Coder-1.5B on 2 cores. For the default model on 2 cores, a batch 1,000 tokens into
a prompt takes 82-93 ms at 32 and 142-170 ms at 64, for some 10% less prefill throughput
(``bench/prefill_batch.py``); at line starts (``bench/line_starts.py --sessions 30``, both
sets) the median went from 271 to 259 ms, 0.3 s reached from 56% to 61%."""

MAX_INSERTED_TOKENS = PREFILL_BATCH_TOKENS
"""The most new tokens computed in front of a reused run: a line of typing, one batch
(a request is not cancelled inside it)."""

_WAITING_SEQUENCE = 1
"""Where a run waits while the text inserted before it is computed: llama.cpp adds a token to a
sequence only at the position after its last one, so the run cannot stay in sequence 0."""

_MIN_SLOT_GAIN = 64
"""Restore a parked sequence only when it saves at least this many tokens of prefill: below
that, computing is about as fast as copying a state in and out."""

_MIN_PARK_TOKENS = 64
"""Sequences shorter than this are cheaper to recompute than to keep."""


@contextlib.contextmanager
def _context_sequences(count: int) -> Iterator[None]:
    """Have the `llama_cpp.Llama` built inside hold `count` sequences in one KV buffer.

    Its constructor takes no such parameter; it starts from llama.cpp's default context
    parameters, which are amended here while it runs (once, at start-up)."""
    if count == 1:
        yield
        return
    library = llama_cpp.llama_cpp
    defaults = library.llama_context_default_params

    def amended() -> llama_cpp.llama_context_params:
        params: llama_cpp.llama_context_params = defaults()
        params.n_seq_max = count
        params.kv_unified = True  # one buffer: a run moves between sequences without a copy
        return params

    library.llama_context_default_params = amended
    try:
        yield
    finally:
        library.llama_context_default_params = defaults


def gpu_backend() -> str:
    """The GPU the installed llama.cpp build offloads to (every layer, when it can): `cuda`,
    `metal` or another backend's name; `cpu` for a CPU-only build (PyPI's default wheel)."""
    if not llama_cpp.llama_supports_gpu_offload():
        return "cpu"
    system = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").upper()
    for backend in ("CUDA", "METAL", "VULKAN", "HIP", "SYCL"):
        if f"{backend} :" in system or f"{backend}:" in system:
            return backend.lower()
    return "gpu"


class LlamaCppEngine(DecodingEngine[SamplerChain]):
    """One GGUF model in one llama.cpp context: one live sequence, computed one request at a
    time, and a pool of parked sequences (other files) that can be swapped back in."""

    def __init__(
        self,
        model_id: str,
        path: Path,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        prefix_cache: bool = True,
        slot_budget_bytes: int = 256 << 20,
        chunk_reuse_min: int = 0,
        chunk_drift_max: int = 16,
    ) -> None:
        threads = n_threads or physical_cores()
        self._device_type = gpu_backend()
        self._model_id = model_id
        self._prefix_cache = prefix_cache
        self._chunk_reuse_min = chunk_reuse_min if prefix_cache else 0
        self._drift = Drift(chunk_drift_max)
        self._slots: SlotPool[bytes] = SlotPool(slot_budget_bytes if prefix_cache else 0)
        sequences = 2 if self._chunk_reuse_min else 1  # the second for a run that waits
        with _context_sequences(sequences):
            self._llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=-1 if self._device_type != "cpu" else 0,
                n_batch=PREFILL_BATCH_TOKENS if self._device_type == "cpu" else 512,
                n_ubatch=PREFILL_BATCH_TOKENS if self._device_type == "cpu" else 512,
                swa_full=True,
                verbose=False,
            )
        self._vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        self._n_vocab = self._llm.n_vocab()
        bos = self._llm.token_bos()
        self._bos = bos if bos >= 0 and llama_cpp.llama_vocab_get_add_bos(self._vocab) else None
        file_type = self._llm.metadata.get("general.file_type", "")
        self._dtype = _DTYPES.get(int(file_type), "unknown") if file_type.isdigit() else "unknown"
        self._fim_markers = FimMarkers.from_vocabulary(self._fim_token_ids(), self._token_text)
        template = self._llm.metadata.get("tokenizer.chat_template")
        self._chat_template = (
            ChatTemplate(template, self._token_text(bos), self._token_text(self._llm.token_eos()))
            if template
            else None
        )

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def device_type(self) -> str:
        return self._device_type

    @property
    def context_size(self) -> int:
        return int(self._llm.n_ctx())

    @property
    def dtype(self) -> str:
        return self._dtype

    def tokenize(self, text: str) -> list[int]:
        # `special=False`: text that looks like `<eos>` in user code is text, not a control
        # token; only the FIM markers Quill writes become theirs (see `quill_host.fim_markers`).
        if self._fim_markers is None:
            return self._text_tokens(text, add_bos=self._bos is not None)
        tokens = [self._bos] if self._bos is not None else []
        for run in self._fim_markers.split(text):
            tokens += [run] if isinstance(run, int) else self._text_tokens(run, add_bos=False)
        return tokens

    def _text_tokens(self, text: str, add_bos: bool) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos))

    @property
    def fim_markers(self) -> FimMarkers | None:
        return self._fim_markers

    @property
    def chat_template(self) -> ChatTemplate | None:
        return self._chat_template

    def tokenize_rendered(self, text: str) -> tuple[int, ...]:
        return tuple(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _fim_token_ids(self) -> dict[str, int | None]:
        vocab = self._vocab
        found = {
            "prefix": llama_cpp.llama_vocab_fim_pre(vocab),
            "suffix": llama_cpp.llama_vocab_fim_suf(vocab),
            "middle": llama_cpp.llama_vocab_fim_mid(vocab),
            "repository": llama_cpp.llama_vocab_fim_rep(vocab),
            "file_separator": llama_cpp.llama_vocab_fim_sep(vocab),
        }
        return {role: token if token >= 0 else None for role, token in found.items()}

    def _token_text(self, token: int) -> str:
        """A control token's literal text (`<bos>`), or "" for a token the model lacks."""
        return self.token_piece(token).decode("utf-8", errors="replace") if token >= 0 else ""

    def token_piece(self, token: int) -> bytes:
        size = 64
        while True:
            buffer = ctypes.create_string_buffer(size)
            length = llama_cpp.llama_token_to_piece(self._vocab, token, buffer, size, 0, True)
            if length >= 0:
                return buffer.raw[:length]
            size = -length

    def is_special(self, token: int) -> bool:
        return bool(
            llama_cpp.llama_vocab_is_control(self._vocab, token)
            or llama_cpp.llama_vocab_is_eog(self._vocab, token)
        )

    @property
    def bos_token(self) -> int | None:
        return self._bos

    def is_end_of_generation(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    @contextlib.contextmanager
    def _sampler(
        self, params: GenerateParameters, seed: int | None, prompt: Sequence[int]
    ) -> Iterator[SamplerChain]:
        with SamplerChain(params, seed, self._n_vocab) as chain:
            chain.remember(prompt)
            yield chain

    def _sample(self, sampler: SamplerChain) -> Sampled:
        token = sampler.sample(self._llm.ctx)
        return Sampled(token, self._logprob(token))

    def _decode(self, token: int) -> None:
        self._llm.eval([token])

    def _prefill(self, tokens: Sequence[int], should_stop: StopCheck) -> int | None:
        """Start from the live sequence's common prefix, or from a parked sequence that shares
        more, or with runs moved past an edit (`chunk_reuse_min`); compute the rest in batches,
        checking `should_stop` between them, since a batch is what a cancel waits for."""
        llm = self._llm
        if not self._prefix_cache:
            self._forget()
        common = common_prefix_length(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        match = self._slots.take_best(tokens, better_than=common + _MIN_SLOT_GAIN)
        # Park the live sequence before replacing it, or before most of it is thrown away
        # (another file): coming back to it then costs a copy, not a prefill.
        if match is not None or common < llm.n_tokens // 2:
            self._park_live()
        if match is not None:
            common = match.common if self._restore(match.saved) else 0
        cached = min(common, len(tokens) - 1)
        computed = 0  # of the cached tokens, those computed here (text inserted mid-prompt)
        if self._chunk_reuse_min and 0 < cached < len(tokens) - self._chunk_reuse_min:
            cached, computed = self._reuse_chunks(tokens, cached)
        memory = llama_cpp.llama_get_memory(llm.ctx)
        if cached > 0 and llama_cpp.llama_memory_seq_rm(memory, -1, cached, -1):
            llm.n_tokens = cached
        else:
            self._forget()
            cached = computed = 0
        self._drift.computed(cached, len(tokens))
        for start in range(cached, len(tokens), llm.n_batch):
            if should_stop():
                return None
            llm.eval(tokens[start : start + llm.n_batch])
        return cached - computed

    def _reuse_chunks(self, tokens: Sequence[int], prefix: int) -> tuple[int, int]:
        """After the shared prefix, move cached runs of the old prompt to where they now sit:
        back where text was deleted, forward past text inserted in front of them (which is
        computed here). The prompt tokens then cached, and how many of them were computed."""
        llm = self._llm
        cached = llm.input_ids[: llm.n_tokens].tolist()
        memory = llama_cpp.llama_get_memory(llm.ctx)
        head_cached = head_prompt = prefix
        while head_prompt < len(tokens) - 1:
            chunk = find_chunk(
                cached,
                tokens[:-1],
                head_cached,
                head_prompt,
                self._chunk_reuse_min,
                MAX_INSERTED_TOKENS,
            )
            if chunk is None:
                break
            inserted = tokens[head_prompt : chunk.prompt_start]
            changed = len(inserted) + chunk.cached_start - head_cached
            if not self._drift.allows(changed):
                break  # computed again instead
            self._drift.moved(chunk.prompt_start, changed)
            if inserted:
                self._insert_before(chunk, head_prompt, inserted)
                end = chunk.prompt_start + chunk.length
                llm.input_ids[prefix:end] = tokens[prefix:end]
                return end, len(inserted)
            end = chunk.cached_start + chunk.length
            llama_cpp.llama_memory_seq_rm(memory, 0, head_prompt, chunk.cached_start)
            llama_cpp.llama_memory_seq_add(memory, 0, chunk.cached_start, end, chunk.shift)
            head_cached, head_prompt = end, head_prompt + chunk.length
        llm.input_ids[prefix:head_prompt] = tokens[prefix:head_prompt]
        return head_prompt, 0

    def _insert_before(self, chunk: Chunk, at: int, inserted: Sequence[int]) -> None:
        """Compute `inserted` at position `at` with the cached `chunk` moved out of the way,
        then move the chunk in after it. Everything cached after the chunk is dropped.

        The inserted tokens attend to the text before them only, as in a cold run; the
        chunk's keys and values still reflect the text it followed before (the approximation
        of chunk reuse)."""
        llm = self._llm
        memory = llama_cpp.llama_get_memory(llm.ctx)
        start, end = chunk.cached_start, chunk.cached_start + chunk.length
        llama_cpp.llama_memory_seq_rm(memory, 0, end, -1)
        llama_cpp.llama_memory_seq_rm(memory, 0, at, start)  # what the insertion replaced
        llama_cpp.llama_memory_seq_cp(memory, 0, _WAITING_SEQUENCE, start, end)
        llama_cpp.llama_memory_seq_rm(memory, 0, start, end)
        llm.n_tokens = at
        try:
            llm.eval(inserted)  # `Llama.eval` trims sequence 0 only: the run waits intact
            llama_cpp.llama_memory_seq_add(memory, _WAITING_SEQUENCE, start, end, chunk.shift)
            moved_start = chunk.prompt_start
            llama_cpp.llama_memory_seq_cp(
                memory, _WAITING_SEQUENCE, 0, moved_start, moved_start + chunk.length
            )
        finally:
            llama_cpp.llama_memory_seq_rm(memory, _WAITING_SEQUENCE, -1, -1)

    def _park_live(self) -> None:
        """Save the live sequence's KV state into the slot pool before it is replaced; only
        its exact part, so that a parked sequence never holds moved runs."""
        llm = self._llm
        if self._drift.drifted:
            memory = llama_cpp.llama_get_memory(llm.ctx)
            llama_cpp.llama_memory_seq_rm(memory, 0, self._drift.exact, -1)
            llm.n_tokens = min(llm.n_tokens, self._drift.exact)
            self._drift.computed(0, llm.n_tokens)
        if llm.n_tokens < _MIN_PARK_TOKENS or not self._prefix_cache:
            return
        size = llama_cpp.llama_state_seq_get_size(llm.ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        if llama_cpp.llama_state_seq_get_data(llm.ctx, buffer, size, 0) == size:
            self._slots.park(llm.input_ids[: llm.n_tokens].tolist(), bytes(buffer), size)

    def _restore(self, saved: SavedSequence[bytes]) -> bool:
        """Make a parked sequence the live one; False (and an empty cache) if it failed."""
        llm = self._llm
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), 0, -1, -1)
        buffer = (ctypes.c_uint8 * len(saved.state)).from_buffer_copy(saved.state)
        if not llama_cpp.llama_state_seq_set_data(llm.ctx, buffer, len(saved.state), 0):
            self._forget()
            return False
        llm.input_ids[: len(saved.tokens)] = saved.tokens
        llm.n_tokens = len(saved.tokens)
        self._drift.computed(0, llm.n_tokens)
        return True

    def _forget(self) -> None:
        self._llm.reset()  # type: ignore[no-untyped-call]
        self._drift.computed(0, 0)

    def _logprob(self, token: int) -> float:
        """log p(token) under the raw model distribution, as TGI reports it."""
        logits = self._logits()
        return float(logits[token]) - _log_total(logits)

    def _top(self, count: int) -> list[Sampled]:
        logits = self._logits()
        count = min(count, len(logits))
        best = np.argpartition(logits, -count)[-count:]
        best = best[np.argsort(logits[best])[::-1]]
        log_total = _log_total(logits)
        return [Sampled(int(token), float(logits[token]) - log_total) for token in best]

    def _logits(self) -> np.ndarray[Any, np.dtype[np.float32]]:
        """The last computed position's logits, read in place (not copied)."""
        pointer = llama_cpp.llama_get_logits_ith(self._llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))


def _log_total(logits: np.ndarray[Any, np.dtype[np.float32]]) -> float:
    """log Σ exp(logits), computed without overflow."""
    peak = float(logits.max())
    return peak + float(np.log(np.exp(logits - peak).sum()))

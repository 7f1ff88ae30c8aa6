"""A llama.cpp sampler chain built from TGI parameters.

Built on llama.cpp's C sampler API rather than `Llama.generate`'s private helper, so TGI's
semantics hold exactly: greedy unless sampling is asked for, warpers only when given, and the
seed honoured (and reported) when sampling.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from types import TracebackType

import llama_cpp
import numpy as np

from quill_host.protocol import GenerateParameters

_PENALTY_WINDOW = 64
"""How many recent tokens the repetition penalty looks at (llama.cpp's default)."""


class SamplerChain:
    """Owns one native sampler chain; use as a context manager so it is always freed."""

    def __init__(self, params: GenerateParameters, seed: int | None, n_vocab: int) -> None:
        self._chain = llama_cpp.llama_sampler_chain_init(
            llama_cpp.llama_sampler_chain_default_params()
        )
        self._n_vocab = n_vocab
        penalized = params.repetition_penalty is not None and params.repetition_penalty != 1.0
        # Plain greedy (the default) is the largest logit, read straight from the logits:
        # the chain would first copy the whole vocabulary into its candidate list, 2.3 ms
        # a token for Gemma 3's 262,144 (measured here), an eighth of a decoding step.
        self._argmax = seed is None and not penalized
        add = self._add
        if penalized:
            add(
                llama_cpp.llama_sampler_init_penalties(
                    n_vocab, _PENALTY_WINDOW, params.repetition_penalty, 0.0, 0.0
                )
            )
        if seed is None:
            add(llama_cpp.llama_sampler_init_greedy())
            return
        if params.top_k is not None:
            add(llama_cpp.llama_sampler_init_top_k(params.top_k))
        if params.typical_p is not None:
            add(llama_cpp.llama_sampler_init_typical(params.typical_p, 1))
        if params.top_p is not None:
            add(llama_cpp.llama_sampler_init_top_p(params.top_p, 1))
        if params.temperature is not None:
            add(llama_cpp.llama_sampler_init_temp(params.temperature))
        add(llama_cpp.llama_sampler_init_dist(seed))

    def _add(self, sampler: ctypes.c_void_p) -> None:
        # The chain takes ownership: freeing the chain frees its members.
        llama_cpp.llama_sampler_chain_add(self._chain, sampler)

    def remember(self, tokens: Sequence[int]) -> None:
        """Feed prompt tokens to stateful samplers (the repetition penalty's window)."""
        for token in tokens[-_PENALTY_WINDOW:]:
            llama_cpp.llama_sampler_accept(self._chain, token)

    def sample(self, ctx: llama_cpp.llama_context_p) -> int:
        """Choose the next token from the last logits of `ctx` (and accept it)."""
        if self._argmax:
            pointer = llama_cpp.llama_get_logits_ith(ctx, -1)
            return int(np.argmax(np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))))
        return int(llama_cpp.llama_sampler_sample(self._chain, ctx, -1))

    def __enter__(self) -> SamplerChain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        llama_cpp.llama_sampler_free(self._chain)

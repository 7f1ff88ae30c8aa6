"""Choosing the next token from logits with TGI's rules, for the transformers engine.

Greedy (argmax) unless `params.sampling`; then TGI's warpers in TGI's order (temperature, top-k,
top-p, typical-p) and a draw from a generator seeded with the request's seed, so a seeded request
gives the same text every time. The repetition penalty applies in both modes, over the whole
sequence (prompt and output), as in TGI's transformers-based server.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers.generation.logits_process import (
    LogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

from quill_host.protocol import GenerateParameters


class TokenChooser:
    """One request's token choice; `seed` is None for greedy decoding."""

    def __init__(self, params: GenerateParameters, seed: int | None, device: torch.device) -> None:
        penalty = params.repetition_penalty
        self._penalty = (
            RepetitionPenaltyLogitsProcessor(penalty)
            if penalty is not None and penalty != 1.0
            else None
        )
        self._warpers: list[LogitsProcessor] = []
        self._generator: torch.Generator | None = None
        if seed is None:
            return
        if params.temperature is not None and params.temperature != 1.0:
            self._warpers.append(TemperatureLogitsWarper(params.temperature))
        if params.top_k is not None:
            self._warpers.append(TopKLogitsWarper(params.top_k))
        if params.top_p is not None:
            self._warpers.append(TopPLogitsWarper(params.top_p))
        if params.typical_p is not None:
            self._warpers.append(TypicalLogitsWarper(params.typical_p))
        self._generator = torch.Generator(device=device)
        self._generator.manual_seed(seed)

    def choose(self, logits: torch.Tensor, history: Sequence[int]) -> int:
        """The next token from the last position's `logits` (1-D, float32) and the tokens so far."""
        scores = logits.unsqueeze(0)
        if self._penalty is not None:
            ids = torch.tensor([list(history)], dtype=torch.long, device=logits.device)
            scores = self._penalty(ids, scores)
        if self._generator is None:
            return int(scores.argmax(dim=-1).item())
        empty = torch.empty((1, 0), dtype=torch.long, device=logits.device)
        for warper in self._warpers:
            scores = warper(empty, scores)
        probabilities = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probabilities, 1, generator=self._generator).item())

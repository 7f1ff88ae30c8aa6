"""What the launcher must know of a model to plan its memory: a small table, not a hub lookup.

The numbers come from the model's public config (see DESIGN.md); weights are in decimal GB as
model cards state them.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

GB = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """Shapes and sizes that decide precision, sharding and the KV-cache budget."""

    model_id: str
    layers: int
    hidden: int
    ffn: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    max_positions: int
    weights_bf16: int
    """Bytes of weights in bf16."""
    weights_8bit: int
    weights_4bit: int
    trust_remote_code: bool
    remote_code_note: str
    caveat: str = ""
    """What is unverified about serving this model with TGI; --dry-run prints it."""

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> int:
        """K and V, for every layer and KV head: 2 * layers * kv_heads * head_dim * dtype."""
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes

    def prefill_bytes_per_token(self, shards: int, dtype_bytes: int = 2) -> int:
        """Peak activations of one layer per prefilled token, on each of `shards` GPUs.

        A few hidden-sized tensors (residual, normed input, attention output) stay whole on every
        shard; the MLP's gate, up and product tensors are split by tensor parallelism. Only one
        layer's activations are alive at a time, and TGI computes logits for the last token only.
        """
        return dtype_bytes * (4 * self.hidden + 3 * self.ffn // shards)


IQUEST_CODER_40B = ModelFacts(
    model_id="IQuestLab/IQuest-Coder-V1-40B-Instruct",
    layers=80,
    hidden=5120,
    ffn=27648,
    attention_heads=40,
    kv_heads=8,
    head_dim=128,
    max_positions=131_072,
    weights_bf16=80 * GB,
    weights_8bit=40 * GB,
    weights_4bit=22 * GB,
    trust_remote_code=True,
    remote_code_note=(
        "custom architecture IQuestCoderForCausalLM: TGI has no native implementation and runs "
        "it through its transformers fallback, which must execute the model's own code"
    ),
    caveat=(
        "TGI serves this model through its transformers fallback: one GPU, bf16 or "
        "bitsandbytes 8-bit, no FP8, no GPTQ/AWQ, and no sharding; vLLM has none of these "
        "limits (quill launch --engine vllm). Not yet run on GPUs."
    ),
)

KNOWN_MODELS = MappingProxyType({IQUEST_CODER_40B.model_id: IQUEST_CODER_40B})
"""Every model the launcher can plan for, by hub id."""


def facts_for(model_id: str) -> ModelFacts | None:
    """The facts of `model_id` (case-insensitive hub id), or None when it is not in the table."""
    for known, facts in KNOWN_MODELS.items():
        if known.lower() == model_id.lower():
            return facts
    return None

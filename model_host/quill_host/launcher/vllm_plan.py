"""Choose vLLM's precision, tensor parallelism and limits from a model's facts and the GPUs.

Pure, like the TGI plan: the same facts and GPUs always give the same plan, and every flag
carries its reason. The memory model follows vLLM's own accounting, per GPU of a replica:

    utilization * total = weights / TP + activations + CUDA graphs + KV cache

vLLM takes `--gpu-memory-utilization` of each GPU, loads its shard of the weights, profiles
one forward pass of `--max-num-batched-tokens` tokens for the activations, captures CUDA
graphs, and gives the rest to the KV cache, which must hold at least one sequence of
`--max-model-len` tokens or vLLM refuses to start. KV heads are split across the TP ranks.
"""

from __future__ import annotations

from dataclasses import dataclass

from quill_host.launcher.facts import GB, ModelFacts
from quill_host.launcher.flags import EnvVar, Flag, PlanError
from quill_host.launcher.gpus import MIB, Gpu, summarize

VLLM_VERSION = "0.32.0"
"""The release the plans are written for: CI parses every planned command with its parser."""


@dataclass(frozen=True, slots=True)
class Budget:
    """How much of each GPU vLLM may take, and what besides the KV cache it spends."""

    utilization: float  # --gpu-memory-utilization
    graph_bytes: int  # CUDA graphs: an allowance (vLLM logs the real figure at start-up)
    batched_tokens: int  # --max-num-batched-tokens; vLLM profiles activations for it
    eager: bool  # --enforce-eager: no CUDA graphs


STANDARD = Budget(0.90, 2 * 1024 * MIB, 8192, eager=False)
"""vLLM's default share of each GPU (the rest is CUDA's own), decode in CUDA graphs, and
prefill in slices of 8,192 tokens between other requests' decode steps."""
LEAN = Budget(0.95, 0, 2048, eager=True)
"""For a GPU the weights nearly fill (4-bit on 24 GB): a larger share, no CUDA graphs (slower
decoding, about 2 GiB back), smaller prefill slices."""
MIN_MODEL_LEN = 8192
"""A completion prompt (2,048 tokens) or a code action with its context and answer."""
MODEL_LEN_ROUNDING = 1024
REQUEST_TOKENS = 4096
"""A typical request's prompt and answer, for sizing how many run at once."""
MAX_NUM_SEQS = 64
"""A team's editors: more concurrent sequences only add CUDA-graph memory."""
TENSOR_PARALLEL = (1, 2, 4, 8)


@dataclass(frozen=True, slots=True)
class VllmPrecision:
    label: str
    weights_bytes: int
    kv_dtype_bytes: int
    flags: tuple[Flag, ...]
    model: str  # what `vllm serve` loads: the model, or a 4-bit checkpoint of it


@dataclass(frozen=True, slots=True)
class VllmPlan:
    """A replica's `vllm serve` arguments with their reasons, and the figures behind them."""

    model: str
    served_name: str
    precision: str
    tensor_parallel: int
    weights_bytes: int
    kv_bytes_per_token: int  # the whole model's, in the KV cache's dtype
    activation_bytes: int  # per GPU, for one step of BATCHED_TOKENS
    kv_tokens: int  # the KV cache's capacity across the replica
    max_model_len: int
    max_num_seqs: int
    utilization: float
    flags: tuple[Flag, ...]
    env: tuple[EnvVar, ...]
    gpus: tuple[Gpu, ...]

    def figures(self) -> str:
        """The numbers the plan was computed from, for `--dry-run` and the README."""
        per_gpu = self.weights_bytes / self.tensor_parallel / GB
        return (
            f"weights {self.weights_bytes / GB:.0f} GB ({per_gpu:.1f} GB per GPU); KV "
            f"{self.kv_bytes_per_token // 1024} KiB per token; activations "
            f"{self.activation_bytes / GB:.1f} GB per GPU; KV cache {self.kv_tokens:,} tokens"
        )


def plan_vllm(
    facts: ModelFacts,
    gpus: tuple[Gpu, ...],
    checkpoint: str | None = None,
) -> VllmPlan:
    """The best launch that fits one replica: bf16, else FP8, else the 4-bit `checkpoint`;
    each on the fewest GPUs that leave at least `MIN_MODEL_LEN` tokens of KV cache."""
    if not gpus:
        raise PlanError(
            "no NVIDIA GPU found (nvidia-smi is absent or lists none); vLLM needs one. Use "
            "the embedded host on this machine, or pass --dry-run --gpus COUNTxGIB[:NAME] "
            "to see the plan for other hardware."
        )
    candidates = [_bf16(facts), _fp8(facts, gpus[0])]
    if checkpoint is not None:
        candidates.append(_four_bit(facts, checkpoint, gpus[0]))
    for precision in candidates:
        for tp in TENSOR_PARALLEL:
            if tp > len(gpus) or facts.kv_heads % tp or facts.attention_heads % tp:
                continue
            for budget in (STANDARD, LEAN):
                plan = _fit(facts, gpus[:tp], precision, tp, budget)
                if plan is not None:
                    return plan
    raise PlanError(_refusal(facts, gpus, checkpoint))


def _fit(
    facts: ModelFacts, gpus: tuple[Gpu, ...], precision: VllmPrecision, tp: int, budget: Budget
) -> VllmPlan | None:
    utilization = min(budget.utilization, min(_free_share(gpu) for gpu in gpus))
    kv_per_token = facts.kv_bytes_per_token(precision.kv_dtype_bytes)
    activations = budget.batched_tokens * facts.prefill_bytes_per_token(tp)
    left = min(
        int(gpu.total_bytes * utilization) - precision.weights_bytes // tp - activations
        for gpu in gpus
    )
    left -= budget.graph_bytes
    kv_tokens = max(0, left) * tp // kv_per_token
    max_model_len = min(facts.max_positions, kv_tokens // MODEL_LEN_ROUNDING * MODEL_LEN_ROUNDING)
    if max_model_len < MIN_MODEL_LEN:
        return None
    max_num_seqs = max(1, min(MAX_NUM_SEQS, kv_tokens // REQUEST_TOKENS))
    flags = _flags(facts, gpus, precision, tp, kv_tokens, max_model_len, max_num_seqs, budget)
    flags = (*flags, _utilization_flag(utilization, budget))
    return VllmPlan(
        model=precision.model,
        served_name=facts.model_id,
        precision=precision.label,
        tensor_parallel=tp,
        weights_bytes=precision.weights_bytes,
        kv_bytes_per_token=kv_per_token,
        activation_bytes=activations,
        kv_tokens=kv_tokens,
        max_model_len=max_model_len,
        max_num_seqs=max_num_seqs,
        utilization=utilization,
        flags=flags,
        env=(),
        gpus=gpus,
    )


def _free_share(gpu: Gpu) -> float:
    """The share of `gpu` that is free, less a margin, rounded down to a hundredth: vLLM
    refuses to start when another process holds what `--gpu-memory-utilization` claims."""
    return int((gpu.free_bytes / gpu.total_bytes - 0.02) * 100) / 100


def _flags(
    facts: ModelFacts,
    gpus: tuple[Gpu, ...],
    precision: VllmPrecision,
    tp: int,
    kv_tokens: int,
    max_model_len: int,
    max_num_seqs: int,
    budget: Budget,
) -> tuple[Flag, ...]:
    where = summarize(gpus)
    capped = max_model_len == facts.max_positions
    length_reason = (
        f"the model's {facts.max_positions:,} positions (the KV cache holds {kv_tokens:,})"
        if capped
        else f"what the KV cache holds ({kv_tokens:,} tokens), rounded down; never more "
        f"than fits, and less than the model's {facts.max_positions:,}"
    )
    return (
        Flag("--served-model-name", facts.model_id, "the id Quill picks its prompt format by"),
        Flag(
            "--tensor-parallel-size",
            str(tp),
            f"the {precision.label} weights fit on {tp} GPU(s) ({where})"
            + (", split by tensor parallelism" if tp > 1 else ""),
        ),
        *precision.flags,
        Flag("--max-model-len", str(max_model_len), length_reason),
        Flag(
            "--max-num-seqs",
            str(max_num_seqs),
            f"requests computed at once: as many {REQUEST_TOKENS:,}-token requests as the KV "
            f"cache holds, at most {MAX_NUM_SEQS} (a team's editors)",
        ),
        Flag(
            "--max-num-batched-tokens",
            str(budget.batched_tokens),
            "tokens per step: a long prompt is prefilled in slices between other editors' "
            "decode steps",
        ),
        Flag("--enable-chunked-prefill", None, "so a long prompt never stalls the others"),
        *(
            (Flag("--enforce-eager", None, "no CUDA graphs: their memory goes to the KV cache"),)
            if budget.eager
            else ()
        ),
        Flag(
            "--enable-prefix-caching",
            None,
            "each keystroke's prompt shares its prefix with the last one: only the new "
            "tokens are computed",
        ),
        Flag(
            "--trust-remote-code",
            None,
            "the model's config and tokenizer classes come with its repository (transformers "
            "has no `iquestcoder`); the network itself runs on vLLM's own Llama code",
        ),
    )


def _utilization_flag(utilization: float, budget: Budget) -> Flag:
    if utilization < budget.utilization:
        reason = "what other processes leave free on the GPUs, less a margin"
    elif budget is STANDARD:
        reason = "vLLM's default share of each GPU, made explicit: the plan's figures use it"
    else:
        reason = "the weights nearly fill the GPU: a larger share than vLLM's default 0.90"
    return Flag("--gpu-memory-utilization", f"{utilization:.2f}", reason)


def _bf16(facts: ModelFacts) -> VllmPrecision:
    reason = f"bf16, the model's own precision ({facts.weights_bf16 / GB:.0f} GB): no loss"
    return VllmPrecision(
        "bf16", facts.weights_bf16, 2, (Flag("--dtype", "bfloat16", reason),), facts.model_id
    )


def _fp8(facts: ModelFacts, gpu: Gpu) -> VllmPrecision:
    size = f"{facts.weights_8bit / GB:.0f} GB"
    if gpu.has_fp8:
        weights = Flag(
            "--quantization",
            "fp8",
            f"bf16 weights do not fit; {gpu.name} has FP8 tensor cores, so vLLM quantizes "
            f"the bf16 checkpoint to FP8 as it loads each layer ({size}, W8A8)",
        )
        kv = Flag(
            "--kv-cache-dtype",
            "fp8",
            "FP8 keys and values: twice the tokens in the same memory, on the same tensor cores",
        )
        return VllmPrecision("fp8", facts.weights_8bit, 1, (weights, kv), facts.model_id)
    weights = Flag(
        "--quantization",
        "fp8",
        f"bf16 weights do not fit; {gpu.name} has no FP8 tensor cores, so vLLM runs FP8 "
        f"weights with bf16 activations (its Marlin kernels, W8A16; {size})",
    )
    return VllmPrecision("fp8 weight-only", facts.weights_8bit, 2, (weights,), facts.model_id)


def _four_bit(facts: ModelFacts, checkpoint: str, gpu: Gpu) -> VllmPrecision:
    flags: tuple[Flag, ...] = ()
    if gpu.has_fp8:
        flags = (
            Flag(
                "--kv-cache-dtype",
                "fp8",
                "FP8 keys and values: twice the tokens in the memory 4-bit weights leave",
            ),
        )
    return VllmPrecision(
        "4-bit (the checkpoint's AWQ/GPTQ, read from its config)",
        facts.weights_4bit,
        1 if gpu.has_fp8 else 2,
        flags,
        checkpoint,
    )


def _refusal(facts: ModelFacts, gpus: tuple[Gpu, ...], checkpoint: str | None) -> str:
    have = f"{summarize(gpus, detailed=True)}"
    if checkpoint is None:
        four_bit = _fit(facts, gpus[:1], _four_bit(facts, "the checkpoint", gpus[0]), 1, LEAN)
        if four_bit is not None:
            return (
                f"{facts.model_id} fits on {have} only with 4-bit weights (about "
                f"{facts.weights_4bit / GB:.0f} GB): pass --quantize-checkpoint with the hub "
                "id or local directory of an AWQ or GPTQ export of it"
            )
    return (
        f"{facts.model_id} does not fit on {have} with at least {MIN_MODEL_LEN:,} tokens of "
        "KV cache, even with 4-bit weights; use more or larger GPUs, or the embedded host "
        "with a smaller model"
    )

"""Choose precision and token limits for TGI from a model's facts and the GPUs.

TGI has no native implementation of IQuest-Coder (`model_type: iquestcoder`): it serves it
through its transformers fallback, which runs on one GPU (it cannot shard a model without a
tensor-parallel plan), ignores `--quantize fp8` and rejects GPTQ/AWQ; of the quantizations
only bitsandbytes (LLM.int8) reaches transformers. So a TGI plan is one GPU, bf16 or 8-bit
bitsandbytes, or a refusal that points to vLLM (`quill launch`), which has none of these
limits. Pure: the same facts and GPUs always give the same plan, each flag with its reason.
The memory model, on the GPU used:

    free >= weights + reserve + tokens * (KV per token + prefill activations per token)

`reserve` (10% of the GPU) covers the CUDA context, kernels' workspaces and fragmentation.
Prefill activations count because TGI warms up with one prefill of
`--max-batch-prefill-tokens` (at least `--max-input-tokens`) before the KV cache is sized.
"""

from __future__ import annotations

from dataclasses import dataclass

from quill_host.launcher.facts import GB, ModelFacts
from quill_host.launcher.flags import EnvVar, Flag, PlanError
from quill_host.launcher.gpus import Gpu

__all__ = ["EnvVar", "Flag", "Plan", "PlanError", "plan_launch"]

RESERVE_FRACTION = 0.10
MIN_TOTAL_TOKENS = 2048
"""Below this a request cannot hold a useful prompt (Continue budgets 1,024, llm-vscode 2,048)."""
TOKEN_ROUNDING = 256
GENERATION_RESERVE = 4096
"""Tokens of each request's total kept for the answer: completions and edits are short."""
KV_DTYPE_BYTES = 2


@dataclass(frozen=True, slots=True)
class Precision:
    """How the weights are stored, what that costs, and the launcher flag that selects it."""

    label: str
    weights_bytes: int
    flag: Flag | None
    model_id: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the command line needs, each choice with its reason."""

    model_id: str
    precision: str
    num_shard: int
    kv_bytes_per_token: int
    max_input_tokens: int
    max_total_tokens: int
    max_batch_prefill_tokens: int
    flags: tuple[Flag, ...]
    env: tuple[EnvVar, ...]
    gpus: tuple[Gpu, ...]
    caveat: str = ""


def plan_launch(facts: ModelFacts, gpus: tuple[Gpu, ...], checkpoint: str | None = None) -> Plan:
    """One GPU: bf16 where it fits, else bitsandbytes 8-bit; on the GPU with most free memory."""
    if not gpus:
        raise PlanError(
            "no NVIDIA GPU found (nvidia-smi is absent or lists none); TGI needs one. "
            "To see the plan for other hardware, pass --dry-run --gpus COUNTxGIB (e.g. 2x80)."
        )
    if checkpoint is not None:
        raise PlanError(
            f"TGI serves {facts.model_id} through its transformers fallback, which rejects "
            "GPTQ and AWQ checkpoints; serve the 4-bit checkpoint with vLLM: quill launch "
            f"--quantize-checkpoint {checkpoint}"
        )
    gpu = max(gpus, key=lambda candidate: candidate.free_bytes)
    for precision in (_bf16(facts), _eight_bit(facts, gpu)):
        tokens = _token_capacity(facts, gpu, precision.weights_bytes)
        if tokens >= MIN_TOTAL_TOKENS:
            return _build(facts, gpu, precision, tokens)
    raise PlanError(_refusal(facts, gpus))


def _token_capacity(facts: ModelFacts, gpu: Gpu, weights: int) -> int:
    """Tokens of KV cache (with their prefill activations) that fit beside the weights."""
    per_token = facts.kv_bytes_per_token(KV_DTYPE_BYTES) + facts.prefill_bytes_per_token(1)
    capacity = max(0, _usable(gpu) - weights) // per_token
    return min(facts.max_positions, capacity // TOKEN_ROUNDING * TOKEN_ROUNDING)


def _usable(gpu: Gpu) -> int:
    return gpu.free_bytes - int(gpu.total_bytes * RESERVE_FRACTION)


def _bf16(facts: ModelFacts) -> Precision:
    reason = (
        f"bf16, the model's own precision (weights {facts.weights_bf16 / GB:.0f} GB): no "
        "quantization loss. --dtype is explicit because TGI's transformers fallback defaults "
        "to float16"
    )
    return Precision(
        "bf16", facts.weights_bf16, Flag("--dtype", "bfloat16", reason), facts.model_id
    )


def _eight_bit(facts: ModelFacts, gpu: Gpu) -> Precision:
    flag = Flag(
        "--quantize",
        "bitsandbytes",
        f"bf16 weights ({facts.weights_bf16 / GB:.0f} GB) do not fit on {gpu.name}; "
        f"LLM.int8 weights ({facts.weights_8bit / GB:.0f} GB), the one quantization TGI's "
        "transformers fallback passes on (load_in_8bit); it decodes slower than bf16",
    )
    return Precision("int8 (bitsandbytes)", facts.weights_8bit, flag, facts.model_id)


def _build(facts: ModelFacts, gpu: Gpu, precision: Precision, tokens: int) -> Plan:
    generation = min(GENERATION_RESERVE, tokens // 4)
    max_input = tokens - generation
    prefill = max_input + 50
    kv = facts.kv_bytes_per_token(KV_DTYPE_BYTES)
    limit = (
        f"the model's {facts.max_positions:,} positions (memory allows more)"
        if tokens == facts.max_positions
        else (
            f"what fits after weights ({precision.weights_bytes / GB:.1f} GB), a "
            f"{RESERVE_FRACTION:.0%} reserve, and per token {kv / 1024:.0f} KiB of bf16 KV "
            f"plus {facts.prefill_bytes_per_token(1) / 1024:.0f} KiB of prefill activations, "
            f"rounded down to a multiple of {TOKEN_ROUNDING}"
        )
    )
    flags = [
        Flag("--model-id", precision.model_id, "the model you asked for"),
        Flag(
            "--num-shard",
            "1",
            f"one GPU ({gpu.name}): TGI's transformers fallback cannot shard this model",
        ),
    ]
    if precision.flag is not None:
        flags.append(precision.flag)
    flags += [
        Flag(
            "--max-input-tokens",
            str(max_input),
            f"{tokens:,} total minus {generation:,} kept for the answer",
        ),
        Flag("--max-total-tokens", str(tokens), f"limited by {limit}"),
        Flag(
            "--max-batch-prefill-tokens",
            str(prefill),
            "one whole prompt per prefill (TGI "
            "requires at least --max-input-tokens; +50 as TGI's default)",
        ),
        Flag("--trust-remote-code", None, facts.remote_code_note),
    ]
    env: tuple[EnvVar, ...] = ()
    if gpu.is_ampere_or_newer:
        env = (
            EnvVar(
                "PREFIX_CACHING",
                "1",
                f"reuse the KV of shared prompt prefixes between keystrokes; {gpu.name} is "
                "Ampere or newer, which TGI's prefix caching needs",
            ),
        )
    return Plan(
        model_id=precision.model_id,
        precision=precision.label,
        num_shard=1,
        kv_bytes_per_token=kv,
        max_input_tokens=max_input,
        max_total_tokens=tokens,
        max_batch_prefill_tokens=prefill,
        flags=tuple(flags),
        env=env,
        gpus=(gpu,),
        caveat=facts.caveat,
    )


def _refusal(facts: ModelFacts, gpus: tuple[Gpu, ...]) -> str:
    largest = max(gpus, key=lambda gpu: gpu.free_bytes)
    have = f"the largest GPU here has {largest.free_bytes / 2**30:.1f} GiB free ({largest.name})"
    per_token = facts.kv_bytes_per_token(KV_DTYPE_BYTES) + facts.prefill_bytes_per_token(1)
    need = (facts.weights_8bit + MIN_TOTAL_TOKENS * per_token) / (1 - RESERVE_FRACTION)
    return (
        f"TGI serves {facts.model_id} on one GPU only (its transformers fallback cannot "
        f"shard it), and even 8-bit weights with a {MIN_TOTAL_TOKENS:,}-token context need "
        f"about {need / 2**30:.1f} GiB free: {have}. vLLM shards it across GPUs and takes "
        "FP8 or 4-bit weights: quill launch --engine vllm."
    )

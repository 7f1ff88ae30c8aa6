"""Choose precision, sharding and token limits for TGI from a model's facts and the GPUs.

Pure: the same facts and GPUs always give the same plan, and every flag carries the reason it
was chosen, which `--dry-run` prints. The memory model, per GPU used:

    free ≥ weights / shards + reserve + tokens * (KV per token + prefill activations per token)

`reserve` (10% of the GPU) covers the CUDA context, kernels' workspaces, CUDA graphs and
fragmentation. KV heads and MLP columns are split across shards. Prefill activations count
because TGI warms up with one prefill of `--max-batch-prefill-tokens` (which must be at least
`--max-input-tokens`) while the KV cache is allocated from what is left.
"""

from __future__ import annotations

from dataclasses import dataclass

from quill_host.launcher.facts import GB, ModelFacts
from quill_host.launcher.gpus import Gpu, summarize

RESERVE_FRACTION = 0.10
MIN_TOTAL_TOKENS = 2048
"""Below this a request cannot hold a useful prompt (Continue budgets 1,024, llm-vscode 2,048)."""
TOKEN_ROUNDING = 256
GENERATION_RESERVE = 4096
"""Tokens of each request's total kept for the answer: completions and edits are short."""
SHARD_COUNTS = (1, 2, 4, 8)
KV_DTYPE_BYTES = 2


class PlanError(Exception):
    """No launch fits; the message says what the user can pass or change."""


@dataclass(frozen=True, slots=True)
class Flag:
    """One launcher argument (value None for a switch) and why it was chosen."""

    name: str
    value: str | None
    reason: str

    def argv(self) -> tuple[str, ...]:
        return (self.name,) if self.value is None else (self.name, self.value)


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One environment variable for the launcher and why it is set."""

    name: str
    value: str
    reason: str


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


def plan_launch(
    facts: ModelFacts,
    gpus: tuple[Gpu, ...],
    checkpoint: str | None = None,
    checkpoint_method: str | None = None,
) -> Plan:
    """The preferred launch that fits: bf16 on the fewest GPUs, else 8-bit, else 4-bit."""
    if not gpus:
        raise PlanError(
            "no NVIDIA GPU found (nvidia-smi is absent or lists none); TGI needs one. "
            "To see the plan for other hardware, pass --dry-run --gpus COUNTxGIB (e.g. 2x80)."
        )
    if checkpoint is not None:
        candidates = [_four_bit(facts, checkpoint, checkpoint_method)]
    else:
        candidates = [_bf16(facts), _eight_bit(facts, gpus[0])]
    for precision in candidates:
        for shards in SHARD_COUNTS:
            if not _can_shard(facts, gpus, shards):
                continue
            tokens = _token_capacity(facts, gpus[:shards], precision.weights_bytes, shards)
            if tokens >= MIN_TOTAL_TOKENS:
                return _build(facts, gpus, precision, shards, tokens)
    raise PlanError(_refusal(facts, gpus, checkpoint))


def _can_shard(facts: ModelFacts, gpus: tuple[Gpu, ...], shards: int) -> bool:
    heads_split = facts.kv_heads % shards == 0 and facts.attention_heads % shards == 0
    return shards <= len(gpus) and heads_split


def _token_capacity(facts: ModelFacts, gpus: tuple[Gpu, ...], weights: int, shards: int) -> int:
    """Tokens of KV cache (with their prefill activations) that fit on the tightest GPU."""
    per_token = facts.kv_bytes_per_token(KV_DTYPE_BYTES) // shards
    per_token += facts.prefill_bytes_per_token(shards)
    left = min(_usable(gpu) - weights // shards for gpu in gpus)
    capacity = max(0, left) // per_token
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
    size = f"{facts.weights_8bit / GB:.0f} GB"
    if gpu.has_fp8:
        flag = Flag(
            "--quantize",
            "fp8",
            f"bf16 weights ({facts.weights_bf16 / GB:.0f} GB) do not fit; {gpu.name} has FP8 "
            f"tensor cores (Hopper/Ada/Blackwell), so FP8 (e4m3) weights ({size}) run at native "
            "speed, about twice bf16's decoding rate",
        )
        return Precision("fp8", facts.weights_8bit, flag, facts.model_id)
    flag = Flag(
        "--quantize",
        "bitsandbytes",
        f"bf16 weights ({facts.weights_bf16 / GB:.0f} GB) do not fit and {gpu.name} has no FP8 "
        f"tensor cores; LLM.int8 weights ({size}). Chosen over eetq, which is faster but is "
        "applied by TGI's own layers: the transformers fallback that runs this model maps only "
        "bitsandbytes onto transformers (load_in_8bit)",
    )
    return Precision("int8", facts.weights_8bit, flag, facts.model_id)


def _four_bit(facts: ModelFacts, checkpoint: str, method: str | None) -> Precision:
    if method is None:
        flag = None
    else:
        flag = Flag(
            "--quantize",
            method,
            f"{checkpoint} is a 4-bit {method.upper()} checkpoint (about "
            f"{facts.weights_4bit / GB:.0f} GB); TGI uses Marlin kernels for it where it can",
        )
    return Precision(f"4-bit {method or 'pre-quantized'}", facts.weights_4bit, flag, checkpoint)


def _build(
    facts: ModelFacts, gpus: tuple[Gpu, ...], precision: Precision, shards: int, tokens: int
) -> Plan:
    generation = min(GENERATION_RESERVE, tokens // 4)
    max_input = tokens - generation
    prefill = max_input + 50
    kv = facts.kv_bytes_per_token(KV_DTYPE_BYTES)
    where = summarize(gpus[:shards])
    capped = tokens == facts.max_positions
    limit = (
        f"the model's {facts.max_positions:,} positions (memory allows more)"
        if capped
        else (
            f"what fits after weights ({precision.weights_bytes / shards / GB:.1f} GB per GPU), "
            f"a {RESERVE_FRACTION:.0%} reserve, and per token {kv / 1024:.0f} KiB of bf16 KV "
            f"(/{shards} per GPU) plus "
            f"{facts.prefill_bytes_per_token(shards) / 1024:.0f} KiB of prefill activations, "
            f"rounded down to a multiple of {TOKEN_ROUNDING}"
        )
    )
    model_reason = (
        "the model you asked for"
        if precision.model_id == facts.model_id
        else f"the 4-bit checkpoint you passed, of {facts.model_id}"
    )
    flags = [Flag("--model-id", precision.model_id, model_reason)]
    flags.append(
        Flag(
            "--num-shard",
            str(shards),
            f"the {precision.label} weights fit on {shards} GPU(s) ({where})"
            + (", split by tensor parallelism" if shards > 1 else ""),
        )
    )
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
    env = (
        EnvVar(
            "PREFIX_CACHING",
            "1",
            "reuse the KV of shared prompt prefixes between "
            "keystrokes (TGI v3's default, made explicit)",
        ),
    )
    return Plan(
        model_id=precision.model_id,
        precision=precision.label,
        num_shard=shards,
        kv_bytes_per_token=kv,
        max_input_tokens=max_input,
        max_total_tokens=tokens,
        max_batch_prefill_tokens=prefill,
        flags=tuple(flags),
        env=env,
        gpus=gpus,
        caveat=facts.caveat,
    )


def _refusal(facts: ModelFacts, gpus: tuple[Gpu, ...], checkpoint: str | None) -> str:
    largest = max(gpus, key=lambda gpu: gpu.free_bytes)
    have = f"the largest GPU here has {largest.free_bytes / 2**30:.1f} GiB free ({largest.name})"
    four_bit_fits = _token_capacity(facts, (largest,), facts.weights_4bit, 1) >= MIN_TOTAL_TOKENS
    if checkpoint is None and four_bit_fits:
        return (
            f"{facts.model_id} fits here only as a 4-bit checkpoint (about "
            f"{facts.weights_4bit / GB:.0f} GB of weights): {have}. Pass --quantize-checkpoint "
            "with the hub id or local directory of a GPTQ or AWQ 4-bit export of the model; "
            "it is served with --quantize gptq or awq."
        )
    per_token = facts.kv_bytes_per_token(KV_DTYPE_BYTES) + facts.prefill_bytes_per_token(1)
    need = (facts.weights_4bit + MIN_TOTAL_TOKENS * per_token) / (1 - RESERVE_FRACTION)
    return (
        f"{facts.model_id} does not fit: {have}, and even 4-bit weights with a "
        f"{MIN_TOTAL_TOKENS:,}-token context need about {need / 2**30:.1f} GiB free on one GPU "
        "(or bf16 / 8-bit across 2, 4 or 8 GPUs). Use a smaller model with the embedded host "
        "(quill host --engine auto) or a machine with more GPU memory."
    )

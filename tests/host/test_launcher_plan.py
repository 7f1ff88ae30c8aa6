"""The TGI launcher's pure parts: nvidia-smi parsing and the plan for several machines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quill_host.launcher.cli import checkpoint_method
from quill_host.launcher.facts import IQUEST_CODER_40B, facts_for
from quill_host.launcher.gpus import (
    Gpu,
    GpuError,
    detect_gpus,
    parse_gpus_override,
    parse_nvidia_smi,
)
from quill_host.launcher.plan import Plan, PlanError, plan_launch

GIB = 2**30
KV_BF16 = 320 * 1024  # DESIGN.md: 320 KiB per token for IQuest-Coder-V1-40B-Instruct in bf16

TWO_H100 = "NVIDIA H100 80GB HBM3, 81559, 0\nNVIDIA H100 80GB HBM3, 81559, 4\n"
ONE_H100 = "NVIDIA H100 80GB HBM3, 81559, 0\n"
ONE_A100 = "NVIDIA A100-SXM4-80GB, 81920, 0\n"
ONE_4090 = "NVIDIA GeForce RTX 4090, 24564, 1\n"
ONE_T4_16 = "Tesla V100-SXM2-16GB, 16384, 0\n"


def flags(plan: Plan) -> dict[str, str | None]:
    return {flag.name: flag.value for flag in plan.flags}


def expected_tokens(gpu: Gpu, weights: float, shards: int) -> int:
    """The memory math written out: what is left after weights and a 10% reserve, divided by the
    per-token KV (split across shards) plus prefill activations, rounded down to 256, capped."""
    left = (gpu.total_mib - gpu.used_mib) * 2**20 - int(gpu.total_mib * 2**20 * 0.10)
    left -= int(weights) // shards
    per_token = KV_BF16 // shards + 2 * (4 * 5120 + 3 * 27648 // shards)
    return min(131_072, left // per_token // 256 * 256)


def test_kv_cost_per_token_matches_the_model_config() -> None:
    assert IQUEST_CODER_40B.kv_bytes_per_token() == KV_BF16 == 2 * 80 * 8 * 128 * 2
    assert facts_for("iquestlab/iquest-coder-v1-40b-instruct") is IQUEST_CODER_40B
    assert facts_for("someone/else") is None


def test_nvidia_smi_output_is_parsed() -> None:
    gpus = parse_nvidia_smi(TWO_H100 + "\n")
    assert gpus == (
        Gpu("NVIDIA H100 80GB HBM3", 81559, 0),
        Gpu("NVIDIA H100 80GB HBM3", 81559, 4),
    )
    assert gpus[1].free_bytes == (81559 - 4) * 2**20
    assert parse_nvidia_smi("") == ()
    assert (
        parse_nvidia_smi("Weird, Name, With Commas, 40960, 10\n")[0].name
        == "Weird, Name, With Commas"
    )


@pytest.mark.parametrize("line", ["NVIDIA H100, [N/A], 0", "just a name", "A100, 80, x"])
def test_malformed_nvidia_smi_lines_are_errors(line: str) -> None:
    with pytest.raises(GpuError, match="unexpected nvidia-smi line"):
        parse_nvidia_smi(line)


@pytest.mark.parametrize(
    ("name", "fp8"),
    [
        ("NVIDIA H100 80GB HBM3", True),
        ("NVIDIA H200", True),
        ("NVIDIA L40S", True),
        ("NVIDIA GeForce RTX 4090", True),
        ("NVIDIA RTX 6000 Ada Generation", True),
        ("NVIDIA A100-SXM4-80GB", False),
        ("NVIDIA A10G", False),
        ("Tesla V100-SXM2-16GB", False),
    ],
)
def test_fp8_support_follows_the_architecture(name: str, fp8: bool) -> None:
    assert Gpu(name, 81920).has_fp8 is fp8


def test_gpus_override() -> None:
    assert parse_gpus_override("2x80") == (Gpu("GPU", 81920),) * 2
    assert parse_gpus_override("1x80:H100")[0].has_fp8
    assert parse_gpus_override("1 X 23.5")[0].total_mib == 24064
    for bad in ("80", "0x80", "2x", "twox80"):
        with pytest.raises(GpuError, match=r"COUNTxGIB|must be positive"):
            parse_gpus_override(bad)


def test_no_nvidia_smi_means_no_gpus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_gpus(runner=lambda command: pytest.fail("must not run")) == ()


def test_two_80gb_gpus_run_bf16_on_two_shards() -> None:
    gpus = parse_nvidia_smi(TWO_H100)
    plan = plan_launch(IQUEST_CODER_40B, gpus)
    chosen = flags(plan)
    assert chosen["--num-shard"] == "2"
    assert chosen["--dtype"] == "bfloat16"
    assert "--quantize" not in chosen
    assert "--trust-remote-code" in chosen
    assert [(var.name, var.value) for var in plan.env] == [("PREFIX_CACHING", "1")]
    tokens = expected_tokens(gpus[1], 80e9, 2)  # the tighter GPU (4 MiB in use) decides
    assert plan.max_total_tokens == tokens == int(chosen["--max-total-tokens"] or 0)
    assert 120_000 < tokens <= 131_072
    assert plan.max_input_tokens == tokens - 4096 == int(chosen["--max-input-tokens"] or 0)
    assert chosen["--max-batch-prefill-tokens"] == str(plan.max_input_tokens + 50)
    assert all(flag.reason for flag in plan.flags)


def test_one_h100_runs_fp8() -> None:
    gpus = parse_nvidia_smi(ONE_H100)
    plan = plan_launch(IQUEST_CODER_40B, gpus)
    chosen = flags(plan)
    assert chosen["--quantize"] == "fp8"
    assert chosen["--num-shard"] == "1"
    assert "--dtype" not in chosen  # TGI refuses --dtype together with --quantize
    assert plan.max_total_tokens == expected_tokens(gpus[0], 40e9, 1)
    assert 60_000 < plan.max_total_tokens < 80_000


def test_one_a100_runs_8bit_without_fp8() -> None:
    gpus = parse_nvidia_smi(ONE_A100)
    plan = plan_launch(IQUEST_CODER_40B, gpus)
    assert flags(plan)["--quantize"] == "bitsandbytes"
    assert plan.max_total_tokens == expected_tokens(gpus[0], 40e9, 1)


def test_one_24gb_gpu_without_a_checkpoint_is_refused_with_what_to_pass() -> None:
    with pytest.raises(PlanError, match="--quantize-checkpoint") as refusal:
        plan_launch(IQUEST_CODER_40B, parse_nvidia_smi(ONE_4090))
    assert "GPTQ or AWQ" in str(refusal.value)


def test_one_24gb_gpu_serves_a_4bit_checkpoint() -> None:
    gpus = parse_nvidia_smi(ONE_4090)
    checkpoint = "someone/IQuest-Coder-V1-40B-Instruct-AWQ"
    plan = plan_launch(IQUEST_CODER_40B, gpus, checkpoint, checkpoint_method(checkpoint))
    chosen = flags(plan)
    assert chosen["--model-id"] == checkpoint
    assert chosen["--quantize"] == "awq"
    assert plan.model_id == checkpoint
    assert plan.max_total_tokens == expected_tokens(gpus[0], 22e9, 1) >= 2048


def test_a_checkpoint_without_a_known_method_leaves_quantize_to_tgi() -> None:
    plan = plan_launch(IQUEST_CODER_40B, parse_gpus_override("1x24"), "someone/iq-4bit", None)
    assert "--quantize" not in flags(plan)


def test_16gb_is_refused_clearly() -> None:
    with pytest.raises(PlanError, match="does not fit") as refusal:
        plan_launch(IQUEST_CODER_40B, parse_nvidia_smi(ONE_T4_16))
    assert "GiB free" in str(refusal.value)
    with pytest.raises(PlanError, match="does not fit"):
        plan_launch(IQUEST_CODER_40B, parse_gpus_override("1x16"), "someone/x-GPTQ", "gptq")


def test_no_gpu_is_refused_with_the_dry_run_hint() -> None:
    with pytest.raises(PlanError, match=r"no NVIDIA GPU.*--gpus"):
        plan_launch(IQUEST_CODER_40B, ())


def test_one_141gb_gpu_keeps_bf16() -> None:
    plan = plan_launch(IQUEST_CODER_40B, parse_gpus_override("1x141:H200"))
    assert flags(plan)["--dtype"] == "bfloat16"
    assert plan.num_shard == 1


def test_checkpoint_method_reads_a_local_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"quantization_config": {"quant_method": "gptq"}})
    )
    assert checkpoint_method(str(tmp_path)) == "gptq"
    assert checkpoint_method("org/model-AWQ") == "awq"
    assert checkpoint_method("org/model-int4") is None

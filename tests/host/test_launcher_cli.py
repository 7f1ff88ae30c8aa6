"""`quill host --engine tgi` as a process: the dry run and its refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.host.launcher_helpers import MODEL, host_env, write_executable

REPO = Path(__file__).resolve().parents[2]


def run_host(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quill_host", "--engine", "tgi", "--model", MODEL, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO / "model_host",
        env=env,
        check=False,
    )


def test_dry_run_for_two_80gb_gpus_prints_the_docker_command(tmp_path: Path) -> None:
    env = host_env(tmp_path, bin_dir=tmp_path / "empty-bin")
    result = run_host(["--gpus", "2x80", "--dry-run", "--port", "8080"], env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    command = next(line for line in lines if line.startswith("docker run"))
    hub = tmp_path / "home" / ".cache" / "huggingface" / "hub"
    assert command.startswith(
        "docker run --rm --name quill-tgi-8080 --gpus all --shm-size 1g "
        f"-p 127.0.0.1:8080:80 -v {hub}:/data -e HUGGINGFACE_HUB_CACHE=/data "
        "-e PREFIX_CACHING=1 ghcr.io/huggingface/text-generation-inference:3.3.6 "
        f"--model-id {MODEL} --num-shard 1 --quantize bitsandbytes --max-input-tokens "
    )
    assert command.endswith(" --trust-remote-code")
    why = lines[lines.index("Why:") + 1 : lines.index("", lines.index("Why:"))]
    assert lines[-1].startswith("Caveat: TGI serves this model through its transformers fallback")
    explained = {line.split()[0] for line in why}
    for flag in (
        "--model-id",
        "--num-shard",
        "--quantize",
        "--max-input-tokens",
        "--max-total-tokens",
        "--max-batch-prefill-tokens",
        "--trust-remote-code",
        "-e",
        "-v",
        "-p",
    ):
        assert flag in explained, flag
    assert all(len(line.split(maxsplit=1)) == 2 for line in why)  # every part has a reason
    assert result.stderr == ""


def test_dry_run_uses_the_local_launcher_when_it_is_on_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    write_executable(bin_dir / "text-generation-launcher", "import sys\nsys.exit(0)\n")
    env = host_env(tmp_path, bin_dir=bin_dir)
    result = run_host(["--gpus", "1x80:H100", "--dry-run", "--port", "9000"], env)
    assert result.returncode == 0, result.stderr
    command = next(
        line for line in result.stdout.splitlines() if "text-generation-launcher" in line
    )
    assert command.startswith(
        f"PREFIX_CACHING=1 text-generation-launcher --model-id {MODEL} --num-shard 1 "
        "--quantize bitsandbytes "
    )
    assert command.endswith("--trust-remote-code --hostname 127.0.0.1 --port 9000")


def test_no_gpu_is_a_clear_error(tmp_path: Path) -> None:
    result = run_host([], host_env(tmp_path, bin_dir=tmp_path / "empty-bin"))
    assert result.returncode == 2
    assert "no NVIDIA GPU" in result.stderr
    assert "--dry-run --gpus" in result.stderr
    assert result.stdout == ""


def test_gpus_override_needs_dry_run(tmp_path: Path) -> None:
    result = run_host(["--gpus", "2x80"], host_env(tmp_path, bin_dir=tmp_path / "empty-bin"))
    assert result.returncode == 2
    assert "--dry-run" in result.stderr


def test_24gb_and_4bit_checkpoints_are_sent_to_vllm(tmp_path: Path) -> None:
    env = host_env(tmp_path, bin_dir=tmp_path / "empty-bin")
    result = run_host(["--gpus", "1x24", "--dry-run"], env)
    assert result.returncode == 2
    assert "quill launch --engine vllm" in result.stderr
    with_checkpoint = run_host(
        ["--gpus", "1x24", "--dry-run", "--quantize-checkpoint", "someone/IQuest-40B-GPTQ"], env
    )
    assert with_checkpoint.returncode == 2
    assert "quill launch --quantize-checkpoint someone/IQuest-40B-GPTQ" in with_checkpoint.stderr


def test_unknown_model_is_refused(tmp_path: Path) -> None:
    env = host_env(tmp_path, bin_dir=tmp_path / "empty-bin")
    result = subprocess.run(
        [sys.executable, "-m", "quill_host", "--engine", "tgi", "--model", "x/y", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert MODEL in result.stderr

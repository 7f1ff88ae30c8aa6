"""The command line that starts TGI for a plan: the local launcher, else the official image.

`text-generation-launcher` on PATH means TGI is installed here (a TGI image, a source build);
otherwise `docker run` of a pinned TGI 3.x image does the same with the same flags.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from quill_host.launcher.flags import Flag
from quill_host.launcher.gpus import summarize
from quill_host.launcher.tgi_plan import Plan

LAUNCHER = "text-generation-launcher"
TGI_IMAGE = "ghcr.io/huggingface/text-generation-inference:3.3.6"
"""The last TGI 3.x release (TGI is in maintenance mode upstream); pinned, never `latest`."""
CONTAINER_CHECKPOINT = "/checkpoint"


@dataclass(frozen=True, slots=True)
class LaunchCommand:
    """What to run, the environment it adds, and why each part is there."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    reasons: tuple[tuple[str, str], ...]
    """(argument as written, why) for every choice, in command-line order."""

    def shell(self) -> str:
        """The exact command as one copy-pasteable shell line."""
        assignments = [f"{name}={shlex.quote(value)}" for name, value in self.env.items()]
        return " ".join([*assignments, shlex.join(self.argv)])


def hf_hub_cache(environ: Mapping[str, str], home: Path) -> Path:
    """Where huggingface_hub keeps models here, so TGI's container shares the downloads."""
    if "HF_HUB_CACHE" in environ:
        return Path(environ["HF_HUB_CACHE"])
    if "HF_HOME" in environ:
        return Path(environ["HF_HOME"]) / "hub"
    return home / ".cache" / "huggingface" / "hub"


def build_command(
    plan: Plan,
    *,
    host: str,
    port: int,
    use_launcher: bool,
    hf_cache: Path,
    pass_hf_token: bool = False,
) -> LaunchCommand:
    """The local launcher's command when `use_launcher`, else the equivalent `docker run`."""
    if use_launcher:
        return _local(plan, host, port)
    return _docker(plan, host, port, hf_cache, pass_hf_token)


def _local(plan: Plan, host: str, port: int) -> LaunchCommand:
    network = (
        Flag("--hostname", host, "listen where the editor's language server connects"),
        Flag("--port", str(port), "the port Quill announces"),
    )
    flags = (*plan.flags, *network)
    reasons = [(f"{var.name}={var.value}", var.reason) for var in plan.env]
    reasons.append((LAUNCHER, "found on PATH: TGI is installed on this machine"))
    reasons += [(shlex.join(flag.argv()), flag.reason) for flag in flags]
    argv = (LAUNCHER, *(arg for flag in flags for arg in flag.argv()))
    env = {var.name: var.value for var in plan.env}
    return LaunchCommand(argv=argv, env=env, reasons=tuple(reasons))


def _docker(plan: Plan, host: str, port: int, hf_cache: Path, pass_hf_token: bool) -> LaunchCommand:
    local_checkpoint = Path(plan.model_id).is_dir()
    parts: list[tuple[tuple[str, ...], str]] = [
        (("docker", "run"), f"{LAUNCHER} is not on PATH, so TGI runs from its official image"),
        (("--rm",), "the container is disposable; the weights live in the mounted cache"),
        (("--name", f"quill-tgi-{port}"), "a name to find (or `docker rm -f`) it by"),
        (("--gpus", "all"), "expose the GPUs; --num-shard says how many TGI uses"),
        (("--shm-size", "1g"), "PyTorch and NCCL communicate through shared memory"),
        (("-p", f"{host}:{port}:80"), "the image listens on port 80; publish it on --host/--port"),
        (
            ("-v", f"{hf_cache}:/data"),
            "the host's Hugging Face hub cache, so weights download once",
        ),
        (("-e", "HUGGINGFACE_HUB_CACHE=/data"), "where TGI reads the hub cache: the mount"),
    ]
    if local_checkpoint:
        mount = f"{Path(plan.model_id).resolve()}:{CONTAINER_CHECKPOINT}:ro"
        parts.append((("-v", mount), "the local checkpoint directory, read-only"))
    for var in plan.env:
        parts.append((("-e", f"{var.name}={var.value}"), var.reason))
    if pass_hf_token:
        parts.append((("-e", "HF_TOKEN"), "pass HF_TOKEN through (its value is not printed)"))
    parts.append(((TGI_IMAGE,), "TGI 3.3.6, the last 3.x release, pinned"))
    for flag in plan.flags:
        if flag.name == "--model-id" and local_checkpoint:
            flag = Flag(flag.name, CONTAINER_CHECKPOINT, f"{flag.reason}, as mounted")
        parts.append((flag.argv(), flag.reason))
    argv = tuple(arg for args, _ in parts for arg in args)
    reasons = tuple((shlex.join(args), reason) for args, reason in parts)
    return LaunchCommand(argv=argv, env={}, reasons=reasons)


def explain(plan: Plan, command: LaunchCommand, gpu_source: str) -> str:
    """The `--dry-run` text: the plan in one line, the exact command, then why each part."""
    gpus = summarize(plan.gpus, detailed=True)
    lines = [
        f"# {plan.model_id} on {gpu_source}: {gpus}",
        f"# {plan.precision}, {plan.num_shard} shard(s), up to {plan.max_total_tokens:,} tokens "
        f"per request ({plan.max_input_tokens:,} of prompt); KV cache "
        f"{plan.kv_bytes_per_token // 1024} KiB per token in bf16",
        command.shell(),
        "",
        "Why:",
    ]
    width = min(48, max(len(arg) for arg, _ in command.reasons))
    lines += [f"  {arg:<{width}}  {reason}" for arg, reason in command.reasons]
    if plan.caveat:
        lines += ["", f"Caveat: {plan.caveat}"]
    return "\n".join(lines)

"""The command lines that start vLLM replicas for a plan, and vLLM's router in front of them.

`vllm` on PATH means vLLM is installed here; otherwise `docker run` of the official image of
the release the plans were checked against does the same with the same flags. With several
replicas, each gets its own GPUs and port, and `vllm-router` (the `team` extra) sends each
document's requests to one replica by the `X-Session-ID` Quill sends, so the replica that
holds a document's KV cache keeps getting its keystrokes.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from quill_host.launcher.command import LaunchCommand
from quill_host.launcher.flags import Flag
from quill_host.launcher.vllm_plan import VLLM_VERSION, VllmPlan

VLLM = "vllm"
VLLM_IMAGE = f"vllm/vllm-openai:v{VLLM_VERSION}"
CONTAINER_PORT = 8000
ROUTER = "vllm-router"
ROUTER_HEALTH_INTERVAL_S = 5
"""How often the router checks each replica: a dead one stops getting requests within it."""


@dataclass(frozen=True, slots=True)
class Replica:
    """One vLLM server: the GPUs it owns and the port it listens on."""

    gpu_ids: tuple[int, ...]
    port: int

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}"


def replicas_for(plan: VllmPlan, count: int, gpu_count: int, first_port: int) -> list[Replica]:
    """`count` replicas of `plan`, each on its own `tensor_parallel` GPUs, on consecutive
    ports from `first_port`; a ValueError when the GPUs are too few."""
    needed = count * plan.tensor_parallel
    if needed > gpu_count:
        raise ValueError(
            f"{count} replicas of {plan.tensor_parallel} GPU(s) each need {needed} GPUs; "
            f"there are {gpu_count}"
        )
    return [
        Replica(
            tuple(range(index * plan.tensor_parallel, (index + 1) * plan.tensor_parallel)),
            first_port + index,
        )
        for index in range(count)
    ]


def vllm_command(
    plan: VllmPlan,
    replica: Replica,
    *,
    host: str,
    use_local: bool,
    hf_cache: Path,
    pass_hf_token: bool = False,
    pinned: bool = False,
) -> LaunchCommand:
    """`vllm serve` for one replica, or the same in vLLM's image; `pinned` gives it only its
    own GPUs (one replica among several)."""
    if use_local:
        network = (
            Flag("--host", host, "where the editors' language servers (or the router) connect"),
            Flag("--port", str(replica.port), "this replica's port"),
        )
    else:
        network = (
            Flag("--host", "0.0.0.0", "inside the container; docker publishes it on --host only"),
            Flag("--port", str(CONTAINER_PORT), "inside the container"),
        )
    flags = (*plan.flags, *network)
    devices = ",".join(map(str, replica.gpu_ids))
    if use_local:
        env = {"CUDA_VISIBLE_DEVICES": devices} if pinned else {}
        parts: list[tuple[tuple[str, ...], str]] = [
            ((VLLM, "serve", plan.model), f"{VLLM} is on PATH: vLLM is installed here"),
        ]
        reasons = [(f"CUDA_VISIBLE_DEVICES={devices}", "this replica's GPUs")] if pinned else []
    else:
        env = {}
        reasons = []
        gpus = f'"device={devices}"' if pinned else "all"
        parts = [
            (("docker", "run"), f"{VLLM} is not on PATH, so vLLM runs from its official image"),
            (("--rm",), "the container is disposable; the weights live in the mounted cache"),
            (("--name", f"quill-vllm-{replica.port}"), "a name to find (or `docker rm -f`) it by"),
            (("--gpus", gpus), "this replica's GPUs" if pinned else "expose the GPUs"),
            (("--ipc", "host"), "tensor-parallel workers share memory through /dev/shm"),
            (("-p", f"{host}:{replica.port}:{CONTAINER_PORT}"), "this replica's port, on --host"),
            (("-v", f"{hf_cache}:/root/.cache/huggingface/hub"), "the host's Hugging Face cache"),
        ]
        if pass_hf_token:
            parts.append((("-e", "HF_TOKEN"), "pass HF_TOKEN through (its value is not printed)"))
        parts.append(((VLLM_IMAGE, plan.model), f"vLLM {VLLM_VERSION}, pinned; the model to serve"))
    parts += [(flag.argv(), flag.reason) for flag in flags]
    argv = tuple(arg for args, _ in parts for arg in args)
    reasons += [(shlex.join(args), reason) for args, reason in parts]
    return LaunchCommand(argv=argv, env=env, reasons=tuple(reasons))


def router_command(
    replicas: list[Replica],
    *,
    host: str,
    port: int,
    health_interval_s: int = ROUTER_HEALTH_INTERVAL_S,
) -> LaunchCommand:
    """`vllm-router` on `port`, keeping each document on one replica."""
    urls = [replica.url(host) for replica in replicas]
    parts: list[tuple[tuple[str, ...], str]] = [
        ((ROUTER,), "vLLM's router (pip install 'quill-lsp[team]')"),
        (("--host", host, "--port", str(port)), "where Quill connects: the team's one URL"),
        (("--worker-urls", *urls), "the replicas"),
        (
            ("--policy", "consistent_hash"),
            "a document's requests (its X-Session-ID) go to one replica, whose KV cache "
            "holds the document's prompt; a dead replica's documents move to the others",
        ),
        (
            ("--health-check-interval-secs", str(health_interval_s)),
            "how soon a dead replica stops getting requests",
        ),
    ]
    argv = tuple(arg for args, _ in parts for arg in args)
    reasons = tuple((shlex.join(args), reason) for args, reason in parts)
    return LaunchCommand(argv=argv, env={}, reasons=reasons)

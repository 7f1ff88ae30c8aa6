"""`quill launch`: plan a model server for this machine's GPUs (or for `--gpus`), print the
plan with `--dry-run`, or start it and keep it running.

vLLM is the default engine: it runs IQuest-Coder-V1-40B on its native Llama implementation,
with tensor parallelism, FP8, AWQ/GPTQ, prefix caching and continuous batching. TGI is kept
(`--engine tgi`) with the limits of its transformers fallback. `--replicas N` starts N vLLM
servers and vLLM's router in front of them; Quill then talks to the router's one URL.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from quill_host.announce import announce, base_url, withdraw
from quill_host.launcher.cli import add_tgi_arguments, free_port, run_tgi
from quill_host.launcher.command import LaunchCommand, hf_hub_cache
from quill_host.launcher.facts import IQUEST_CODER_40B, KNOWN_MODELS, facts_for
from quill_host.launcher.flags import PlanError
from quill_host.launcher.gpus import GpuError, gpus_to_plan_for, summarize
from quill_host.launcher.supervisor import Supervisor, SupervisorConfig
from quill_host.launcher.vllm_command import (
    ROUTER,
    VLLM,
    Replica,
    replicas_for,
    router_command,
    vllm_command,
)
from quill_host.launcher.vllm_plan import VllmPlan, plan_vllm


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.engine == "tgi":
        if args.replicas != 1:
            return _fail("--replicas needs --engine vllm (vLLM's router runs in front of it)")
        return run_tgi(args)
    return _run_vllm(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quill launch", description=__doc__)
    parser.add_argument("--engine", choices=["vllm", "tgi"], default="vllm")
    parser.add_argument(
        "--model", default=IQUEST_CODER_40B.model_id, help=f"one of: {', '.join(KNOWN_MODELS)}"
    )
    parser.add_argument("--host", default="127.0.0.1", help="where Quill connects")
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="where Quill connects (0: a free port); with --replicas the router's, the "
        "replicas taking the ports after it",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="vLLM servers, each on its own GPUs, behind vLLM's router (quill-lsp[team])",
    )
    parser.add_argument(
        "--ready-file", type=Path, help="write {url, pid, model_id} here once it serves"
    )
    add_tgi_arguments(parser, "planning and supervision")
    return parser


def _run_vllm(args: argparse.Namespace) -> int:
    facts = facts_for(args.model)
    if facts is None:
        return _fail(f"plans exist for these models only: {', '.join(KNOWN_MODELS)}")
    if args.gpus is not None and not args.dry_run:
        return _fail("--gpus describes hardware to plan for; use it with --dry-run")
    if args.replicas < 1:
        return _fail("--replicas must be at least 1")
    try:
        gpus, source = gpus_to_plan_for(args.gpus)
        if gpus and len(gpus) < args.replicas:
            raise PlanError(f"{args.replicas} replicas need a GPU each; there are {len(gpus)}")
        # Each replica is planned for its share of the GPUs.
        plan = plan_vllm(facts, gpus[: len(gpus) // args.replicas], args.quantize_checkpoint)
        port = args.port or free_port(args.host)
        first_replica_port = port + 1 if args.replicas > 1 else port
        replicas = replicas_for(plan, args.replicas, len(gpus), first_replica_port)
    except (GpuError, PlanError, ValueError) as error:
        return _fail(str(error))
    use_local = shutil.which(VLLM) is not None
    if not args.dry_run and not use_local and shutil.which("docker") is None:
        return _fail(f"neither {VLLM} nor docker is on PATH; install one of them")
    if not args.dry_run and args.replicas > 1 and shutil.which(ROUTER) is None:
        return _fail(f"{ROUTER} is not on PATH: pip install 'quill-lsp[team]'")
    servers = [
        vllm_command(
            plan,
            replica,
            host=args.host,
            use_local=use_local,
            hf_cache=hf_hub_cache(os.environ, Path.home()),
            pass_hf_token="HF_TOKEN" in os.environ,
            pinned=args.replicas > 1,
        )
        for replica in replicas
    ]
    router = router_command(replicas, host=args.host, port=port) if args.replicas > 1 else None
    if args.dry_run:
        print(explain_vllm(plan, replicas, servers, router, source))
        return 0
    return _supervise(args, plan, replicas, servers, router, port)


def explain_vllm(
    plan: VllmPlan,
    replicas: list[Replica],
    servers: list[LaunchCommand],
    router: LaunchCommand | None,
    gpu_source: str,
) -> str:
    """The `--dry-run` text: the plan and its figures, each command, and why each part."""
    lines = [
        f"# {plan.served_name} on {gpu_source}: {summarize(plan.gpus, detailed=True)}",
        f"# {plan.precision}, tensor parallel {plan.tensor_parallel}, up to "
        f"{plan.max_model_len:,} tokens per request, {plan.max_num_seqs} at once",
        f"# {plan.figures()}",
    ]
    for replica, command in zip(replicas, servers, strict=True):
        if len(replicas) > 1:
            lines.append(f"# replica on GPU(s) {','.join(map(str, replica.gpu_ids))}")
        lines.append(command.shell())
    if router is not None:
        lines += ["# the router, where Quill connects", router.shell()]
    lines += ["", "Why:"]
    reasons = [*servers[0].reasons, *(router.reasons if router else ())]
    width = min(48, max(len(arg) for arg, _ in reasons))
    lines += [f"  {arg:<{width}}  {reason}" for arg, reason in reasons]
    lines += [
        "",
        "Caveat: computed from the model's config and vLLM's memory accounting, checked "
        "against vLLM's own argument parser; not yet run on these GPUs. vLLM logs the KV "
        "cache it could allocate at start-up.",
    ]
    return "\n".join(lines)


def _supervise(
    args: argparse.Namespace,
    plan: VllmPlan,
    replicas: list[Replica],
    servers: list[LaunchCommand],
    router: LaunchCommand | None,
    port: int,
) -> int:
    """Run every replica (and the router) under a supervisor of its own; announce the URL
    Quill uses once all of them are healthy; stop them all on SIGINT/SIGTERM, or when one
    gives up."""
    url = base_url(args.host, port)
    units: list[tuple[str, LaunchCommand, str]] = [
        (f"vllm:{replica.port}", command, f"{replica.url(args.host)}/health")
        for replica, command in zip(replicas, servers, strict=True)
    ]
    if router is not None:
        units.append(("router", router, f"{url}/health"))
    pending = len(units)
    lock = threading.Lock()

    def healthy() -> None:
        nonlocal pending
        with lock:
            pending -= 1
            if pending == 0:
                announce(url, plan.served_name, args.ready_file)

    supervisors = [
        Supervisor(
            SupervisorConfig(
                argv=command.argv,
                env=dict(command.env),
                health_url=health,
                start_timeout=args.start_timeout,
                backoff_initial=args.restart_backoff,
                name=name,
                log_prefix=f"[{name}] ",
            ),
            on_healthy=healthy,
        )
        for name, command, health in units
    ]
    results: list[int] = []

    def run(supervisor: Supervisor) -> None:
        results.append(supervisor.run())
        if results[-1] != 0:
            _stop_all(supervisors)  # one that gave up takes the others down

    _on_signals(lambda: _stop_all(supervisors))
    threads = [threading.Thread(target=run, args=(s,)) for s in supervisors]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        withdraw(args.ready_file)
    return max(results, default=0)


def _stop_all(supervisors: list[Supervisor]) -> None:
    for supervisor in supervisors:
        supervisor.stop()


def _on_signals(stop: Callable[[], None]) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)


def _fail(message: str) -> int:
    print(f"quill launch: {message}", file=sys.stderr)
    return 2

"""`quill host --engine tgi`: its extra arguments, and the run from detection to supervision."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from quill_host.announce import announce, base_url, withdraw
from quill_host.launcher.command import LAUNCHER, build_command, explain, hf_hub_cache
from quill_host.launcher.facts import IQUEST_CODER_40B, KNOWN_MODELS, facts_for
from quill_host.launcher.flags import PlanError
from quill_host.launcher.gpus import GpuError, gpus_to_plan_for
from quill_host.launcher.supervisor import Supervisor, SupervisorConfig
from quill_host.launcher.tgi_plan import plan_launch
from quill_host.models import DEFAULT_MODEL


def add_tgi_arguments(
    parser: argparse.ArgumentParser, title: str = "TGI launcher (--engine tgi)"
) -> None:
    """The arguments a launcher reads: planning, printing the plan, supervision."""
    group = parser.add_argument_group(title)
    group.add_argument(
        "--quantize-checkpoint",
        metavar="PATH_OR_ID",
        help="a 4-bit AWQ/GPTQ checkpoint of the model (vLLM; needed on a 24 GB GPU)",
    )
    group.add_argument("--dry-run", action="store_true", help="print the plan, the command and why")
    group.add_argument(
        "--gpus",
        metavar="COUNTxGIB[:NAME]",
        help="plan for these GPUs instead of nvidia-smi's (with --dry-run), e.g. 2x80 or 1x80:H100",
    )
    group.add_argument(
        "--restart-backoff",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="first delay before restarting a crashed server; doubles up to 60 s",
    )
    group.add_argument(
        "--start-timeout",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how long a server may take to answer /health (downloads included)",
    )


@dataclass(frozen=True, slots=True)
class TgiOptions:
    """The parsed arguments `--engine tgi` uses, typed."""

    model: str
    host: str
    port: int
    checkpoint: str | None
    dry_run: bool
    gpus: str | None
    ready_file: Path | None
    restart_backoff: float
    start_timeout: float

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> TgiOptions:
        model = IQUEST_CODER_40B.model_id if args.model == DEFAULT_MODEL else str(args.model)
        return cls(
            model=model,
            host=str(args.host),
            port=int(args.port),
            checkpoint=args.quantize_checkpoint,
            dry_run=bool(args.dry_run),
            gpus=args.gpus,
            ready_file=args.ready_file,
            restart_backoff=float(args.restart_backoff),
            start_timeout=float(args.start_timeout),
        )


def run_tgi(args: argparse.Namespace) -> int:
    """Plan, then print (--dry-run) or run and supervise TGI; the process exit status."""
    options = TgiOptions.from_namespace(args)
    facts = facts_for(options.model)
    if facts is None:
        known = ", ".join(KNOWN_MODELS)
        return _fail(f"--engine tgi plans for these models only: {known}; not {options.model!r}")
    if options.gpus is not None and not options.dry_run:
        return _fail("--gpus describes hardware to plan for; use it with --dry-run")
    try:
        gpus, source = gpus_to_plan_for(options.gpus)
        plan = plan_launch(facts, gpus, options.checkpoint)
    except (GpuError, PlanError) as error:
        return _fail(str(error))
    use_launcher = shutil.which(LAUNCHER) is not None
    if not use_launcher and not options.dry_run and shutil.which("docker") is None:
        return _fail(f"neither {LAUNCHER} nor docker is on PATH; install one of them")
    port = options.port or free_port(options.host)
    command = build_command(
        plan,
        host=options.host,
        port=port,
        use_launcher=use_launcher,
        hf_cache=hf_hub_cache(os.environ, Path.home()),
        pass_hf_token="HF_TOKEN" in os.environ,
    )
    if options.dry_run:
        print(explain(plan, command, source))
        return 0
    url = base_url(options.host, port)
    return _supervise(options, command.argv, dict(command.env), url, plan.model_id)


def _supervise(
    options: TgiOptions,
    argv: tuple[str, ...],
    env: dict[str, str],
    url: str,
    model_id: str,
) -> int:
    def serving() -> None:
        announce(url, model_id, options.ready_file)

    config = SupervisorConfig(
        argv=argv,
        env=env,
        health_url=f"{url}/health",
        start_timeout=options.start_timeout,
        backoff_initial=options.restart_backoff,
    )
    supervisor = Supervisor(config, on_healthy=serving)

    def stop(signum: int, frame: FrameType | None) -> None:
        supervisor.stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    try:
        return supervisor.run()
    finally:
        withdraw(options.ready_file)


def _fail(message: str) -> int:
    print(f"quill host: {message}", file=sys.stderr)
    return 2


def free_port(host: str) -> int:
    """A port nothing listens on now, on `host`'s interface."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port

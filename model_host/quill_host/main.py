"""`quill host` / `python -m quill_host`: load a model, bind, announce, serve.

The order matters to whoever starts the host (the language server, tests, scripts): the model is
loaded before the socket exists, so the one line on stdout (and the ready file) means "requests
will be answered now", and port 0 works because the socket is bound here, not by uvicorn.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from types import FrameType

import uvicorn

from quill_host.announce import announce, base_url, withdraw
from quill_host.api import create_app
from quill_host.auth import TOKEN_ENVIRONMENT_VARIABLE, UnprotectedAddress, check_exposure
from quill_host.catalog import DEFAULT_MODEL, describe_models
from quill_host.engines import EngineOptions, create_engine, engine_names
from quill_host.errors import ModelNotFound
from quill_host.launcher.registry import LAUNCHERS
from quill_host.models import resolve_model
from quill_host.scheduler import Scheduler

_log = logging.getLogger("quill_host")


def build_parser() -> argparse.ArgumentParser:
    """The command line, shared with `quill host`."""
    parser = argparse.ArgumentParser(
        prog="quill host", description="Serve a local model over the TGI HTTP API."
    )
    parser.add_argument("--engine", choices=[*engine_names(), *LAUNCHERS], default="auto")
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=_model_help(),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="any other address than loopback needs --api-token"
    )
    parser.add_argument(
        "--api-token",
        default=os.environ.get(TOKEN_ENVIRONMENT_VARIABLE),
        help=f"clients must send 'Authorization: Bearer TOKEN' ({TOKEN_ENVIRONMENT_VARIABLE})",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--n-ctx", type=_positive, default=8192, help="context size in tokens")
    parser.add_argument(
        "--threads",
        type=_positive,
        metavar="N",
        help="CPU threads the model computes with (default: one per physical core; "
        "the transformers engine uses them on CPU only)",
    )
    parser.add_argument(
        "--max-queue", type=_non_negative, default=16, help="waiting requests before 429"
    )
    parser.add_argument(
        "--no-prefix-cache",
        dest="prefix_cache",
        action="store_false",
        help="recompute every prompt from scratch (to measure what KV reuse is worth)",
    )
    parser.add_argument(
        "--kv-slots-mb",
        type=_non_negative,
        default=256,
        help="memory for the KV caches of other open files (parked sequences)",
    )
    parser.add_argument(
        "--cache-reuse",
        type=_non_negative,
        default=0,
        metavar="TOKENS",
        help="llama.cpp: after an edit mid-prompt, move cached runs of at least this many "
        "tokens instead of recomputing them (approximate: 0, the default, is exact)",
    )
    parser.add_argument(
        "--cache-reuse-drift",
        type=_non_negative,
        default=16,
        metavar="TOKENS",
        help="with --cache-reuse: compute a moved run again once this many tokens in front of "
        "it have changed since it was computed",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="exit after this long without requests (0: never)",
    )
    parser.add_argument(
        "--ready-file", type=Path, help="write {url, pid, model_id} here as JSON once serving"
    )
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="let a model directory run its own code (transformers engine; e.g. IQuest-Coder)",
    )
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning"])
    for launcher in LAUNCHERS.values():
        launcher.add_arguments(parser)
    return parser


def _model_help() -> str:
    """The named models with what each is, so `--help` documents the catalog."""
    return (
        f"a named model ({describe_models()}), a path to a .gguf, or a model directory "
        "(transformers); named models come from pip packages, nothing is downloaded"
    )


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return number


def main(argv: list[str] | None = None) -> int:
    """Run the host until a signal (or the idle timeout); the process exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    launcher = LAUNCHERS.get(args.engine)
    if launcher is not None:
        return launcher.run(args)
    try:
        check_exposure(args.host, args.api_token)
    except UnprotectedAddress as error:
        print(f"quill host: {error}", file=sys.stderr)
        return 2
    try:
        model = resolve_model(args.model)
    except ModelNotFound as error:
        print(f"quill host: {error}", file=sys.stderr)
        return 2
    options = EngineOptions(
        model=model,
        n_ctx=args.n_ctx,
        n_threads=args.threads,
        prefix_cache=args.prefix_cache,
        slot_budget_bytes=args.kv_slots_mb << 20,
        chunk_reuse_min=args.cache_reuse,
        chunk_drift_max=args.cache_reuse_drift,
        trust_remote_code=args.trust_remote_code,
    )
    # Nothing the host loads may reach the Hub, not even a model's own code (--trust-remote-code)
    # that ignores `local_files_only`. Set here, before an engine first imports huggingface_hub,
    # which reads it once; and not for launchers, whose servers download their models.
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        engine = create_engine(args.engine, options)
    except ModelNotFound as error:
        print(f"quill host: {error}", file=sys.stderr)
        return 2
    sock = _bind(args.host, args.port)
    scheduler = Scheduler(engine, max_queue=args.max_queue)
    config = uvicorn.Config(
        create_app(scheduler, api_token=args.api_token),
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=3,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    url = base_url(args.host, sock.getsockname()[1])
    _ignore_signals_after_shutdown()
    try:
        asyncio.run(_serve(server, sock, scheduler, args, url, engine.model_id))
    finally:
        sock.close()
        if args.ready_file is not None:
            withdraw(args.ready_file)
    return 0


async def _serve(
    server: uvicorn.Server,
    sock: socket.socket,
    scheduler: Scheduler,
    args: argparse.Namespace,
    url: str,
    model_id: str,
) -> None:
    async def announce_when_started() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        announce(url, model_id, args.ready_file)

    async def exit_when_idle(limit: float) -> None:
        while not server.should_exit:
            await asyncio.sleep(min(1.0, limit))
            idle = scheduler.idle_seconds()
            if idle is not None and idle >= limit:
                _log.warning("no request for %.0f s, exiting", idle)
                server.should_exit = True

    helpers = [asyncio.create_task(announce_when_started())]
    if args.idle_timeout > 0:
        helpers.append(asyncio.create_task(exit_when_idle(args.idle_timeout)))
    try:
        await server.serve(sockets=[sock])
    finally:
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)


def _bind(host: str, port: int) -> socket.socket:
    """Bind (and listen) here, so port 0 gives a port we know before announcing it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: small SSE events go out at once instead of waiting
    # for the client's delayed ACK (40 ms a token otherwise).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _ignore_signals_after_shutdown() -> None:
    """Make SIGTERM/SIGINT end the process with status 0.

    uvicorn turns the first signal into a graceful shutdown and then re-raises it with the
    handlers it found; with these in place that re-raise is harmless instead of a
    KeyboardInterrupt traceback or a death by SIGTERM.
    """

    def ignore(signum: int, frame: FrameType | None) -> None:
        _log.debug("signal %d after shutdown", signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, ignore)

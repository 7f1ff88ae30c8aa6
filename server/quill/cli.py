"""The ``quill`` command: serve (LSP), host (model host), launch (vLLM or TGI on a team's
GPUs), complete (one suggestion), prompt (what would be sent to the model, and why), doctor
(which model fits this machine)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol.types import Position

from quill import __version__
from quill.cursor import Cursor
from quill.documents import Document, PositionEncoding, PositionOutOfRange

if TYPE_CHECKING:
    from quill.completion.service import CompletionService
    from quill.context.candidates import ContextPiece
    from quill.context.workspace import WorkspaceContext

UTF32 = PositionEncoding.UTF32

# A command line has no editor waiting on it; the cold start of a model may take a while.
CLI_DEADLINE_MS = 120_000


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "host":
        return _host(extra)
    if args.command == "launch":
        return _launch(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    for chatty in ("pygls", "httpx", "httpcore"):  # each logs every message at INFO
        logging.getLogger(chatty).setLevel(logging.WARNING)
    logging.basicConfig(
        level=(args.log_level or ("info" if args.command == "serve" else "error")).upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return _serve(args)
    if args.command == "prompt":
        return asyncio.run(_prompt(args))
    if args.command == "doctor":
        from quill import doctor

        return asyncio.run(doctor.run(args))
    return asyncio.run(_complete(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quill", description=__doc__)
    parser.add_argument("--version", action="version", version=f"quill {__version__}")
    logging_options = argparse.ArgumentParser(add_help=False)
    logging_options.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="default: info for serve (editors keep it in their log), error otherwise",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", parents=[logging_options], help="run the language server (stdio by default)"
    )
    # The transport flags are vscode-languageclient's (which appends them to the command).
    transport = serve.add_mutually_exclusive_group()
    transport.add_argument("--stdio", action="store_true", help="talk over stdin/stdout")
    transport.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    transport.add_argument(
        "--socket", type=int, metavar="PORT", help="connect to a client listening on this port"
    )
    transport.add_argument(
        "--pipe", metavar="NAME", help="connect to a client listening on this Unix socket"
    )
    transport.add_argument("--node-ipc", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument(
        "--clientProcessId",
        "--client-process-id",
        dest="client_process_id",
        type=int,
        metavar="PID",
        help="exit when this process (the editor) exits",
    )

    commands.add_parser(
        "host",
        help="run the model host (see `quill host --help`)",
        add_help=False,
    )

    commands.add_parser(
        "launch",
        help="plan, print (--dry-run) or run vLLM or TGI on a team's GPUs (quill launch --help)",
        add_help=False,
    )

    complete = commands.add_parser(
        "complete", parents=[logging_options], help="print one completion, as an editor gets it"
    )
    complete.add_argument("location", metavar="FILE:LINE:COL", help="1-based, as editors show")
    complete.add_argument("--workspace", type=Path, help="the project the file belongs to")
    complete.add_argument("--json", action="store_true", help="print a JSON object")
    complete.add_argument("--server-url", default="", help="a model server (else the host)")
    complete.add_argument(
        "--host-model",
        default="default",
        help="the embedded host's model: default, qwen2.5-coder-1.5b (quill-lsp[coder]) or a .gguf",
    )
    complete.add_argument("--max-new-tokens", type=int)

    prompt = commands.add_parser(
        "prompt",
        parents=[logging_options],
        help="print the prompt a completion would send, with its context pieces",
    )
    prompt.add_argument("location", metavar="FILE:LINE:COL", help="1-based, as editors show")
    prompt.add_argument("--workspace", type=Path, help="default: the file's git repository")
    prompt.add_argument("--json", action="store_true", help="print a JSON object")
    prompt.add_argument("--server-url", default="", help="a model server (else the host)")
    prompt.add_argument("--host-model", default="default", help="the embedded host's model")
    prompt.add_argument("--prompt-tokens", type=int, help="the prompt's token budget")

    doctor = commands.add_parser(
        "doctor",
        parents=[logging_options],
        help="time each installed model on this machine and advise which to use",
    )
    doctor.add_argument("--json", action="store_true", help="print a JSON object")
    doctor.add_argument(
        "--model",
        action="append",
        metavar="NAME",
        help="time only this model (repeatable); default: every model in the catalog",
    )
    doctor.add_argument(
        "--no-timing", action="store_true", help="check the install only; no model is run"
    )
    return parser


def _host(argv: list[str]) -> int:
    try:
        from quill_host.main import main as host_main
    except ImportError as error:
        print(
            f"quill: the model host is not installed ({error}); pip install 'quill-lsp[host]'",
            file=sys.stderr,
        )
        return 2
    return host_main(argv)


def _launch(argv: list[str]) -> int:
    from quill_host.launcher.launch import main as launch_main

    return launch_main(argv)


def _serve(args: argparse.Namespace) -> int:
    from quill.lsp import client_process, transports
    from quill.lsp.server import create_server

    if args.node_ipc:
        print(
            "quill serve: --node-ipc is Node.js's own channel, which a Python server cannot"
            " open; start Quill with --stdio (vscode-languageclient: TransportKind.stdio)",
            file=sys.stderr,
        )
        return 2
    if args.client_process_id is not None:
        client_process.exit_when_gone(args.client_process_id)
    transport = transports.Transport(tcp=args.tcp, socket_port=args.socket, pipe=args.pipe)
    try:
        transports.serve(create_server(), transport)
    except (transports.UnsupportedTransport, OSError) as error:
        print(f"quill serve: {error}", file=sys.stderr)
        return 2
    return 0


async def _complete(args: argparse.Namespace) -> int:
    errors: list[str] = []
    prepared = _prepare(args, {"maxNewTokens": args.max_new_tokens}, errors.append)
    if isinstance(prepared, int):
        return prepared
    cursor, service = prepared
    context = _workspace(args, cursor.path)
    service.context = context.prompt_context
    try:
        await context.scan(in_process=True)
        suggestion = await service.complete(cursor.path, cursor, debounce=False)
    finally:
        context.close()
        await service.aclose()
    for message in errors:
        print(message, file=sys.stderr)
    prompt = suggestion.prompt if suggestion else None
    if args.json:
        print(
            json.dumps(
                {
                    **_place_json(args, cursor),
                    "completion": suggestion.text if suggestion else "",
                    "model_ms": round(suggestion.model_ms, 1) if suggestion else None,
                    "prompt_tokens": prompt.tokens if prompt else None,
                    "context": [_piece_json(piece) for piece in prompt.pieces] if prompt else [],
                }
            )
        )
    elif suggestion:
        print(suggestion.text)
    if errors:
        return 2
    if suggestion is None:
        print(f"quill: no suggestion at {args.location}", file=sys.stderr)
        return 1
    return 0


async def _prompt(args: argparse.Namespace) -> int:
    """The prompt for a place in a file, built exactly as a completion builds it."""
    from quill.backends.embedded_host import HostStartError
    from quill.backends.errors import ModelServerError
    from quill.completion.pipeline import prompt_for

    prepared = _prepare(args, {"promptTokens": args.prompt_tokens}, lambda message: None)
    if isinstance(prepared, int):
        return prepared
    cursor, service = prepared
    settings = service.settings
    context = _workspace(args, cursor.path)
    try:
        report = await context.scan(in_process=True)
        endpoint = await service.endpoints.get(settings)
        info = await endpoint.info()
        prompt = await prompt_for(cursor, endpoint, settings, context.prompt_context)
    except (ModelServerError, HostStartError) as error:
        print(f"quill: {error}", file=sys.stderr)
        return 2
    finally:
        context.close()
        await service.endpoints.aclose()
    if args.json:
        print(
            json.dumps(
                {
                    **_place_json(args, cursor),
                    "model": info.model_id,
                    "dialect": info.dialect,
                    "format": prompt.format,
                    "prompt": prompt.text,
                    "messages": [{"role": r, "content": c} for r, c in prompt.messages],
                    "fill_in_middle": fim.as_json() if (fim := prompt.fill_in_middle) else None,
                    "tokens": prompt.tokens,
                    "budget": prompt.budget,
                    "indexed_files": report.files,
                    "context": [_piece_json(piece) for piece in prompt.pieces],
                },
                indent=2,
            )
        )
        return 0
    if prompt.messages:
        for role, content in prompt.messages:
            print(f"[{role}]\n{content}\n")
    elif prompt.fill_in_middle is not None:
        print(prompt.fill_in_middle.as_text())
    else:
        print(prompt.text)
    print(
        f"--- {info.model_id} ({info.dialect}): "
        f"{prompt.format} prompt, {prompt.tokens} of {prompt.budget} tokens, "
        f"{len(prompt.pieces)} context pieces ({report.files} files indexed)",
        file=sys.stderr,
    )
    for piece in prompt.pieces:
        print(
            f"    {piece.path}:{piece.start_line + 1}-{piece.end_line + 1}  {piece.reason}",
            file=sys.stderr,
        )
    return 0


def _place_json(args: argparse.Namespace, cursor: Cursor) -> dict[str, object]:
    """Where a JSON answer is about, as the command line named it."""
    return {"file": cursor.path, "line": args.line, "column": args.column}


def _prepare(
    args: argparse.Namespace, overrides: dict[str, object | None], show_error: Callable[[str], None]
) -> tuple[Cursor, CompletionService] | int:
    """The cursor and a configured completion service for ``quill complete`` and ``quill
    prompt`` (``overrides``: the settings their own flags set, ``None`` where unset); or an
    exit status after saying what is wrong."""
    from quill.completion.service import CompletionService

    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    cursor, options = loaded
    options.update({name: value for name, value in overrides.items() if value is not None})
    service = CompletionService(show_error=show_error)
    if not _configure(service, options):
        return 2
    if (refusal := _refusal(cursor, service)) is not None:
        return refusal
    return cursor, service


def _load(args: argparse.Namespace) -> tuple[Cursor, dict[str, object]] | int:
    """The cursor the command line names, and the settings it implies; or an exit
    status after saying what is wrong."""
    from quill.context.languages import language_for_path

    path, args.line, args.column = _parse_location(args.location)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"quill: cannot read {path}: {error}", file=sys.stderr)
        return 2
    offset = _offset_of(text, args.line, args.column)
    if offset is None:
        print(f"quill: {path} has no line {args.line}", file=sys.stderr)
        return 2
    resolved = str(path.resolve())
    language = language_for_path(resolved) or path.suffix.lstrip(".")
    options: dict[str, object] = {
        "serverUrl": args.server_url,
        "hostModel": args.host_model,
        "deadlineMs": CLI_DEADLINE_MS,
        "lookAhead": False,  # one request: nothing comes next to prepare for
    }
    return Cursor(resolved, language, text, offset), options


def _refusal(cursor: Cursor, service: CompletionService) -> int | None:
    """Exit status 1, after saying why, for a place whose code is never sent to a model
    (the gate every completion passes; see ``quill.completion.file_window``)."""
    from quill.completion.file_window import shared_window
    from quill.redaction import NotShared

    settings = service.settings
    try:
        shared_window(cursor, settings.max_prefix_chars, settings.max_suffix_chars)
    except NotShared as reason:
        print(f"quill: nothing is sent to a model from here: {reason}", file=sys.stderr)
        return 1
    return None


def _configure(service: CompletionService, options: dict[str, object]) -> bool:
    from quill.settings import settings_from_options

    service.settings, problems = settings_from_options(options)
    if problems:
        print("quill: " + "; ".join(problems), file=sys.stderr)
    return not problems


def _workspace(args: argparse.Namespace, path: str) -> WorkspaceContext:
    """The workspace the file belongs to: ``--workspace``, else its git repository,
    else its folder. Only that folder is ever read."""
    from quill.context.workspace import WorkspaceContext

    folder: Path | None = args.workspace
    if folder is None:
        parent = Path(path).parent
        folder = next((p for p in [parent, *parent.parents] if (p / ".git").exists()), parent)
    return WorkspaceContext([folder])


def _piece_json(piece: ContextPiece) -> dict[str, object]:
    return {
        "kind": piece.kind,
        "path": piece.path,
        "start_line": piece.start_line + 1,
        "end_line": piece.end_line + 1,
        "reason": piece.reason,
        "text": piece.text,
    }


def _parse_location(location: str) -> tuple[Path, int, int]:
    try:
        path, line, column = location.rsplit(":", 2)
        return Path(path), int(line), int(column)
    except ValueError:
        raise SystemExit(f"quill: expected FILE:LINE:COL, got {location!r}") from None


def _offset_of(text: str, line: int, column: int) -> int | None:
    """String index of a 1-based line and column (in characters, as editors show them);
    a column past the end of its line means the end of the line."""
    document = Document("", "", 0, text)
    try:
        return document.offset_at(Position(max(line, 1) - 1, max(column, 1) - 1), UTF32)
    except PositionOutOfRange:
        return None

"""The ``quill`` command: serve (LSP), host (model host), complete (one suggestion)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from lsprotocol.types import Position

from quill import __version__
from quill.documents import Document, PositionEncoding, PositionOutOfRange

UTF32 = PositionEncoding.UTF32

# A command line has no editor waiting on it; the cold start of a model may take a while.
CLI_DEADLINE_MS = 120_000


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "host":
        return _host(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.getLogger("pygls").setLevel(logging.WARNING)  # it logs every message at INFO
    logging.basicConfig(
        level=(args.log_level or ("info" if args.command == "serve" else "error")).upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return _serve(args.tcp)
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
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")

    commands.add_parser(
        "host",
        help="run the model host (see `quill host --help`)",
        add_help=False,
    )

    complete = commands.add_parser(
        "complete", parents=[logging_options], help="print one completion, as an editor gets it"
    )
    complete.add_argument("location", metavar="FILE:LINE:COL", help="1-based, as editors show")
    complete.add_argument("--workspace", type=Path, help="the project the file belongs to")
    complete.add_argument("--json", action="store_true", help="print a JSON object")
    complete.add_argument("--server-url", default="", help="a TGI-compatible model server")
    complete.add_argument("--max-new-tokens", type=int)
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


def _serve(tcp: str | None) -> int:
    from quill.lsp.server import create_server

    server = create_server()
    if tcp:
        host, _, port = tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0


async def _complete(args: argparse.Namespace) -> int:
    from quill.cursor import Cursor
    from quill.service import CompletionService
    from quill.settings import settings_from_options

    path, line, column = _parse_location(args.location)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"quill: cannot read {path}: {error}", file=sys.stderr)
        return 2
    offset = _offset_of(text, line, column)
    if offset is None:
        print(f"quill: {path} has no line {line}", file=sys.stderr)
        return 2

    errors: list[str] = []
    service = CompletionService(show_error=errors.append)
    options: dict[str, object] = {"serverUrl": args.server_url, "deadlineMs": CLI_DEADLINE_MS}
    if args.max_new_tokens is not None:
        options["maxNewTokens"] = args.max_new_tokens
    service.settings, problems = settings_from_options(options)
    if problems:
        print("quill: " + "; ".join(problems), file=sys.stderr)
        return 2
    cursor = Cursor(str(path.resolve()), path.suffix.lstrip("."), text, offset)
    try:
        suggestion = await service.complete(str(path), cursor, debounce=False)
    finally:
        await service.endpoints.aclose()
    for message in errors:
        print(message, file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(path),
                    "line": line,
                    "column": column,
                    "completion": suggestion.text if suggestion else "",
                    "model_ms": round(suggestion.model_ms, 1) if suggestion else None,
                    "prompt_chars": len(suggestion.prompt.text) if suggestion else None,
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

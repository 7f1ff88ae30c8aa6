"""Real editing sessions replayed through ``quill serve`` against the embedded host.

A session is cut from real code, pip's own (``pip/_internal``; see the end): in a
function body, a block of 3 to 6 whole lines (consecutive statements) is taken out and
typed back in, the way an editor sends it: the document is opened with an empty,
indented line where the block was, then one incremental ``didChange`` per keystroke
(Enter inserts the newline and the next line's indentation in one change, as editors'
auto-indent does). A ``textDocument/inlineCompletion`` (trigger kind Automatic,
``debounceMs`` 0) is sent once the document is opened and after each keystroke that ends
a word (any character other than a letter, digit or ``_``; ``--every keystroke`` asks
after every keystroke), each answered before the next keystroke. The workspace folder is
a copy of the ``pip`` package folder (an installed one may lie in a git checkout that
ignores it, pyenv's, and Quill never sends ignored files to a model), indexed before the
first session starts (``$/progress`` end).

Measured:
  latency        p50 / p95 of the completion requests, as the client sees them (the
                 first request of each session, with a cold KV cache, also apart)
  reused tokens  prompt tokens the host served from its KV cache / all prompt tokens,
                 from the host's ``/metrics`` before and after (goal: at least 90%)
  first line     how often the suggestion's first line equals the rest of the current
                 line as the author wrote it (requests where that rest is not blank)
  host work      the generation requests the host saw, those the client closed before
                 their first token, and the seconds spent on them (``host_counters.py``)

    python bench/replay_sessions.py [--sessions 8] [--seed 0] [--every word|keystroke]
                                    [--budget-s 420] [--verbose] [--pace wait|human]

Sessions run in order until all are done or ``--budget-s`` seconds have gone by (a
session once started runs to its end). The 8 default sessions (225 requests) took 3 min
of replay (3.5 min in all) on an idle 2-core machine; with other processes busy on it,
llama.cpp slows down several times over, fewer sessions run, and the report says how many.

``--pace human`` types the same sessions as a person does instead: a key every ``--key-ms``
(80) ms, a request after every keystroke, not awaited, the server's own debounce and
deadline (the settings' defaults; see ``paced_typing.py``). Almost every request is then
superseded, or cancelled with ``--cancel-previous`` (as VS Code does); the report counts
each outcome, the latency of the answers from their keystroke, how often a line start
(the request right after Enter) got a suggestion before the next key, and the host's work:
prompt tokens of finished generations computed and reused, and the generation requests
the client abandoned.

    python bench/replay_sessions.py --pace human [--key-ms 80] [--enter-pause-ms 0]
                                    [--cancel-previous]

Sessions are cut from pip 23.2.1, the tuning source of ``recall_sources.py`` (the
installed pip when that version is not found), so they stay the same on every machine.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from host_counters import Counts, difference, generations_cell, host_counters, reuse_cell, total
from paced_typing import Pace, PacedResult, opened_document, report_paced, type_session
from quill.settings import Settings
from recall_sources import SourceTree, pip_source
from running_host import running_host
from typing_replay import type_key

MIN_LINES, MAX_LINES = 3, 6
GOAL_REUSE = 0.90
_WORD_CHAR = re.compile(r"[A-Za-z0-9_]")
# Where a prompt first changed (see ``note_change``): in a context piece of the file being
# edited, in a piece of another file, in the file window, or only in the text just typed.
_PARTS = ("piece of this file", "piece of another file", "window", "typed")
# What quill.context.quoting puts above a piece.
_PIECE_HEADER = re.compile(r"^# (\S+):\d+-\d+$", re.M)


@dataclass(frozen=True)
class Session:
    file: str  # relative to the workspace folder
    first_line: int  # 0-based: the first line of the block taken out
    block: str  # the lines taken out, each with its newline

    @property
    def name(self) -> str:
        return f"{self.file}:{self.first_line + 1}"


@dataclass
class SessionResult:
    session: Session
    latencies_ms: list[float] = field(default_factory=list)  # the first one is cold
    compared: int = 0  # requests where the rest of the line was not blank
    first_line_equal: int = 0
    empty: int = 0  # requests answered with no suggestion
    prompt_tokens: list[int] = field(default_factory=list)
    pieces: list[int] = field(default_factory=list)
    reused: Counts = field(default_factory=dict)  # the host's counters over the session
    warm_reused: Counts = field(default_factory=dict)  # ... after its first request
    # Where each prompt first differs from the one before (characters from there to the
    # end must be computed again), by the part of the prompt the difference falls in.
    last_text: str = ""
    last_pieces: list[str] = field(default_factory=list)
    prompt_chars: int = 0
    changed_chars: Counts = field(default_factory=lambda: dict.fromkeys(_PARTS, 0.0))


# -- choosing the sessions ---------------------------------------------------------------


def blocks_in(source: SourceTree, path: Path) -> list[Session]:
    """Every block of 3 to 6 lines of consecutive statements in a function body (the
    docstring left out), in ASCII (so character offsets are UTF-16 positions too)."""
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    lines = text.splitlines(keepends=True)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        for i, first in enumerate(body):
            for last in body[i:]:
                end = last.end_lineno or last.lineno
                span = end - first.lineno + 1
                if span > MAX_LINES:
                    break
                block = "".join(lines[first.lineno - 1 : end])
                if span >= MIN_LINES and block.isascii() and block.endswith("\n"):
                    relative = path.relative_to(source.root).as_posix()
                    found.append(Session(relative, first.lineno - 1, block))
    return found


def choose_sessions(source: SourceTree, count: int, seed: int) -> list[Session]:
    """One block from each of ``count`` files, drawn with ``seed``."""
    rng = random.Random(seed)
    files = sorted(source.project.rglob("*.py"))
    rng.shuffle(files)
    sessions = []
    for path in files:
        blocks = blocks_in(source, path)
        if blocks:
            sessions.append(rng.choice(blocks))
        if len(sessions) == count:
            break
    return sessions


def keystrokes(block: str) -> tuple[str, list[str]]:
    """The block's first indentation (there when typing starts) and the keystrokes that
    type the rest of it: one character each, except Enter, which brings the next line's
    indentation along."""
    body = block.removesuffix("\n")
    indent = body[: len(body) - len(body.lstrip(" \t"))]
    keys: list[str] = []
    rest = body[len(indent) :]
    i = 0
    while i < len(rest):
        if rest[i] == "\n":
            end = i + 1
            while end < len(rest) and rest[end] in " \t":
                end += 1
            keys.append(rest[i:end])
            i = end
        else:
            keys.append(rest[i])
            i += 1
    return indent, keys


# -- replaying over LSP ------------------------------------------------------------------


class ReplayClient(LanguageClient):
    """A client that takes the server's progress and status messages."""

    def __init__(self, verbose: bool = False) -> None:
        super().__init__("quill-replay", "0")
        self.verbose = verbose  # print each request's suggestion
        self.indexed = asyncio.Event()
        self.index_message = ""
        self.messages: list[str] = []  # window/showMessage: errors the user would see

        @self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create_token(params: types.WorkDoneProgressCreateParams) -> None:
            """Any token is fine."""

        @self.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            value: Any = params.value
            if _field(value, "kind") == "end":
                self.index_message = str(_field(value, "message") or "")
                self.indexed.set()

        @self.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        @self.feature("quill/status")
        def status(params: object) -> None:
            """The status-bar notification: nothing to show here."""

        @self.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: types.LogMessageParams) -> None:
            """The server's log (warnings and up, as started): the bench prints its own."""

    async def serve(
        self, root: Path, cache_dir: Path, options: dict[str, Any], index_timeout_s: float
    ) -> float:
        """Start ``quill serve`` on the workspace ``root`` with a fresh index store, as an
        editor with progress bars would, and wait for the index (unless ``workspaceIndex`` is
        off); the seconds it took."""
        env = {**os.environ, "QUILL_CACHE_DIR": str(cache_dir)}
        await self.start_io(
            sys.executable, "-m", "quill", "serve", "--log-level", "warning", env=env
        )
        await self.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=True)
                ),
                workspace_folders=[types.WorkspaceFolder(root.as_uri(), root.name)],
                initialization_options=options,
            )
        )
        self.initialized(types.InitializedParams())
        started = time.perf_counter()
        if options.get("workspaceIndex", True):  # else no index is built, nor reported
            await asyncio.wait_for(self.indexed.wait(), timeout=index_timeout_s)
        return time.perf_counter() - started

    async def suggestion(self, uri: str, position: types.Position) -> tuple[str, float]:
        """One inline completion asked as typing asks it: its text, and the milliseconds
        until it came."""
        started = time.perf_counter()
        answer = await self.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
                text_document=types.TextDocumentIdentifier(uri),
                position=position,
            )
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        items = answer.items if isinstance(answer, types.InlineCompletionList) else answer or []
        return (str(items[0].insert_text) if items else ""), elapsed_ms


def _field(value: Any, name: str) -> Any:
    """A field of a ``$/progress`` value, whether it arrived as a dict or a structure."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


async def replay(
    client: ReplayClient, host_url: str, root: Path, session: Session, every: str
) -> SessionResult:
    result = SessionResult(session)
    start = host_counters(host_url)
    path = root / session.file
    indent, keys = keystrokes(session.block)
    text, lines = opened_document(path, session.first_line, session.block, indent)
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )
    position = types.Position(session.first_line, len(indent))
    await ask(client, uri, position, lines, result)
    after_first = host_counters(host_url)
    for version, key in enumerate(keys, start=2):
        position = type_key(client, uri, version, position, key)
        if every == "keystroke" or not _WORD_CHAR.match(key[-1:] or "\n"):
            await ask(client, uri, position, lines, result)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    end = host_counters(host_url)
    result.reused = difference(end, start)
    result.warm_reused = difference(end, after_first)
    return result


async def ask(
    client: ReplayClient,
    uri: str,
    position: types.Position,
    original_lines: list[str],
    result: SessionResult,
) -> None:
    text, elapsed_ms = await client.suggestion(uri, position)
    result.latencies_ms.append(elapsed_ms)
    result.empty += not text
    expected = original_lines[position.line][position.character :].rstrip("\r\n")
    if expected.strip():
        result.compared += 1
        result.first_line_equal += text.split("\n", 1)[0].rstrip() == expected.rstrip()
    if client.verbose:
        print(
            f"    {position.line + 1}:{position.character + 1} {elapsed_ms:6.0f} ms "
            f"typed next {expected!r}, suggested {text!r}"
        )
    prompt = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="quill.lastPrompt")
    )
    if isinstance(prompt, dict):
        result.prompt_tokens.append(int(prompt.get("tokens") or 0))
        result.pieces.append(len(prompt.get("context") or ()))
        note_change(result, str(prompt.get("text") or ""))
        pieces = [_piece_name(piece) for piece in prompt.get("context") or ()]
        if client.verbose and result.last_pieces and pieces != result.last_pieces:
            for piece in result.last_pieces:
                if piece not in pieces:
                    print(f"      context - {piece}")
            for piece in pieces:
                if piece not in result.last_pieces:
                    print(f"      context + {piece}")
        result.last_pieces = pieces


def _piece_name(piece: dict[str, Any]) -> str:
    path = str(piece.get("path", "")).split("/pip/", 1)[-1]
    return f"{path}:{piece.get('startLine')}-{piece.get('endLine')} ({piece.get('reason')})"


def note_change(result: SessionResult, text: str) -> None:
    """Where this prompt first differs from the previous one: in a context piece at the
    top (of the file being edited, or of another), in the file window below them (its
    start moved, or text above the cursor changed), or only in the characters just typed
    at its end. Everything after that point must be computed again."""
    previous, result.last_text = result.last_text, text
    result.prompt_chars += len(text)
    if not previous:
        return
    same = next(
        (i for i, (old, new) in enumerate(zip(previous, text, strict=False)) if old != new),
        min(len(previous), len(text)),
    )
    header = text.find(f"# {result.session.file}\n")  # the current file, after the pieces
    if same < header:
        line_end = text.find("\n", same)
        pieces = list(_PIECE_HEADER.finditer(text, 0, line_end if line_end != -1 else len(text)))
        of_this_file = bool(pieces) and pieces[-1][1] == result.session.file
        part = _PARTS[0] if of_this_file else _PARTS[1]
    elif same >= len(previous) - 1 or text.rfind("\n", 0, len(text)) < same:
        part = "typed"  # all of the previous prompt is kept, or the change is on its last line
    else:
        part = "window"
    result.changed_chars[part] += len(text) - same


@dataclass(frozen=True)
class Mode:
    """How the sessions are typed: each answer awaited, or at a human pace."""

    every: str  # "word" | "keystroke": when the awaited requests are made
    pace: Pace | None  # a human pace instead (a request per keystroke, none awaited)

    def initialization_options(self, host_url: str) -> dict[str, object]:
        if self.pace is not None:
            return {"serverUrl": host_url}  # the server's own debounce and deadline
        return {"serverUrl": host_url, "debounceMs": 0, "deadlineMs": 30_000}


async def run(
    source: SourceTree, sessions: list[Session], mode: Mode, verbose: bool, budget_s: float
) -> None:
    with running_host() as host, tempfile.TemporaryDirectory() as scratch:
        root = source.copy_workspace(Path(scratch) / "src")
        client = ReplayClient(verbose)
        try:
            options = mode.initialization_options(host.url)
            indexed_s = await client.serve(root, Path(scratch) / "cache", options, 300)
            print(
                f"workspace {root} (a copy of {source.root}{source.note and '; ' + source.note}) "
                f"indexed in {indexed_s:.1f} s: {client.index_message}"
            )
            results: list[SessionResult] = []
            paced: list[PacedResult] = []
            replay_started = time.perf_counter()
            for session in sessions:
                if time.perf_counter() - replay_started > budget_s:
                    print(f"  time budget of {budget_s:.0f} s spent: the other sessions skipped")
                    break
                session_started = time.perf_counter()
                if mode.pace is not None:
                    paced.append(await type_paced(client, host.url, root, session, mode.pace))
                    requests, reuse = len(paced[-1].requests), reuse_cell(paced[-1].host)
                else:
                    results.append(await replay(client, host.url, root, session, mode.every))
                    requests, reuse = len(results[-1].latencies_ms), reuse_cell(results[-1].reused)
                print(
                    f"  {session.name}: {requests} requests in "
                    f"{time.perf_counter() - session_started:.0f} s, reused {reuse}",
                    flush=True,
                )
            seconds = time.perf_counter() - replay_started
            await client.shutdown_async(None)
            client.exit(None)
        finally:
            await client.stop()
    if mode.pace is not None:
        report_paced(paced, mode.pace, _server_timing(), seconds)
    else:
        report(results, mode.every, seconds)
    for message in sorted(set(client.messages)):
        print(f"shown to the user {client.messages.count(message)} times: {message}")


async def type_paced(
    client: ReplayClient, host_url: str, root: Path, session: Session, pace: Pace
) -> PacedResult:
    path = root / session.file
    indent, keys = keystrokes(session.block)
    text, lines = opened_document(path, session.first_line, session.block, indent)
    start = types.Position(session.first_line, len(indent))
    return await type_session(
        client, host_url, path.as_uri(), text, start, keys, lines, pace, session.name
    )


def _server_timing() -> str:
    defaults = Settings()
    return (
        f"the server's defaults: debounceMs {defaults.debounce_ms}, "
        f"deadlineMs {defaults.deadline_ms}"
    )


def report(results: list[SessionResult], every: str, seconds: float) -> None:
    print()
    print(f"requests after each {every}; {len(results)} sessions replayed in {seconds:.0f} s")
    print()
    print("| session (file:line) | lines | keystrokes | requests | p50 ms | p95 ms "
          "| first line = typed | mean prompt tokens | mean pieces | reused tokens |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for result in results:
        session = result.session
        _, keys = keystrokes(session.block)
        print(
            f"| {session.name} | {session.block.count(chr(10))} | {len(keys)} "
            f"| {len(result.latencies_ms)} | {_percentile(result.latencies_ms, 50):.0f} "
            f"| {_percentile(result.latencies_ms, 95):.0f} "
            f"| {result.first_line_equal}/{result.compared} "
            f"| {statistics.mean(result.prompt_tokens or [0]):.0f} "
            f"| {statistics.mean(result.pieces or [0]):.1f} | {reuse_cell(result.reused)} |"
        )
    everything = [ms for result in results for ms in result.latencies_ms]
    warm = [ms for result in results for ms in result.latencies_ms[1:]]
    cold = [result.latencies_ms[0] for result in results if result.latencies_ms]
    compared = sum(result.compared for result in results)
    equal = sum(result.first_line_equal for result in results)
    empty = sum(result.empty for result in results)
    reused = total([result.reused for result in results])
    tokens = reused["reused"] + reused["computed"]
    met = "met" if tokens and reused["reused"] / tokens >= GOAL_REUSE else "NOT met"
    share = 100 * equal / compared if compared else 0.0
    rows = [
        ("completion requests", f"{len(everything)} ({empty} with no suggestion)"),
        ("latency, all requests: p50 / p95", _p50_p95(everything)),
        ("latency, after a keystroke: p50 / p95", _p50_p95(warm)),
        ("latency, first request of a session (cold KV cache): p50 / p95", _p50_p95(cold)),
        (
            f"reused prompt tokens at the host (goal ≥ {100 * GOAL_REUSE:.0f}%: {met})",
            reuse_cell(reused),
        ),
        (
            "reused prompt tokens, first request of each session left out",
            reuse_cell(total([result.warm_reused for result in results])),
        ),
        (
            "host: generation requests (closed early), seconds spent on them",
            generations_cell(total([result.reused for result in results])),
        ),
        (
            "prompt characters after a request's first change (to compute again), by where "
            "it changed: a piece of the file being edited / a piece of another file / "
            "the file window / only the text typed",
            changed_cell(results),
        ),
        ("suggestion's first line = the rest of the line typed", f"{equal}/{compared} "
                                                                f"({share:.1f}%)"),
    ]  # fmt: skip
    print()
    print("| measure | value |")
    print("| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


def changed_cell(results: list[SessionResult]) -> str:
    """Shares of all prompt characters that followed a change, by the part it was in."""
    chars = sum(result.prompt_chars for result in results) or 1
    shares = [
        100 * sum(result.changed_chars[part] for result in results) / chars for part in _PARTS
    ]
    return " / ".join(f"{share:.1f}%" for share in shares)


def _p50_p95(values: list[float]) -> str:
    return f"{_percentile(values, 50):.0f} / {_percentile(values, 95):.0f} ms"


def _percentile(values: list[float], percent: int) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", choices=("word", "keystroke"), default="word")
    parser.add_argument(
        "--pace",
        choices=("wait", "human"),
        default="wait",
        help="wait: each answer awaited, debounce 0 (default); human: see --key-ms",
    )
    parser.add_argument("--key-ms", type=float, default=80, help="human pace: between keys")
    parser.add_argument(
        "--enter-pause-ms", type=float, default=0, help="human pace: a pause after each Enter"
    )
    parser.add_argument(
        "--cancel-previous",
        action="store_true",
        help="human pace: cancel the unanswered request at each keystroke, as VS Code does",
    )
    parser.add_argument("--verbose", action="store_true", help="print every suggestion")
    parser.add_argument(
        "--budget-s", type=float, default=420, help="start no session after this long"
    )
    args = parser.parse_args()
    source = pip_source()
    sessions = choose_sessions(source, args.sessions, args.seed)
    pace = None
    if args.pace == "human":
        pace = Pace(args.key_ms, args.enter_pause_ms, args.cancel_previous, Settings().deadline_ms)
    asyncio.run(run(source, sessions, Mode(args.every, pace), args.verbose, args.budget_s))


if __name__ == "__main__":
    main()

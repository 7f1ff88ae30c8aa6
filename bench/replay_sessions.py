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
import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types

from editing_sessions import Session, add_session_arguments, choose_sessions, session_document
from host_counters import difference, host_counters, reuse_cell
from lsp_session import BenchClient, execute, shut_down_after
from paced_typing import Pace, PacedResult, report_paced, type_session
from quill.settings import Settings
from recall_sources import SourceTree, pip_source
from replay_sessions_report import SessionResult, report
from running_host import running_host
from typing_replay import close_document, open_document, type_asking


async def replay(
    client: BenchClient, host_url: str, root: Path, session: Session, every: str
) -> SessionResult:
    result = SessionResult(session)
    start = host_counters(host_url)
    document = session_document(root, session)
    open_document(client, document.uri, document.text)

    async def ask_here(position: types.Position) -> None:
        await ask(client, document.uri, position, document.lines, result)

    await ask_here(document.start)
    after_first = host_counters(host_url)
    await type_asking(client, document.uri, document.start, document.keys, every, ask_here)
    close_document(client, document.uri)
    end = host_counters(host_url)
    result.reused = difference(end, start)
    result.warm_reused = difference(end, after_first)
    return result


async def ask(
    client: BenchClient,
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
    prompt = await execute(client, "quill.lastPrompt")
    if isinstance(prompt, dict):
        result.prompt_tokens.append(int(prompt.get("tokens") or 0))
        result.pieces.append(len(prompt.get("context") or ()))
        result.note_prompt(str(prompt.get("text") or ""))
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
        client = BenchClient(verbose)
        async with shut_down_after(client):
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
                    document = session_document(root, session)
                    paced.append(
                        await type_session(client, host.url, document, mode.pace, session.name)
                    )
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
    if mode.pace is not None:
        report_paced(paced, mode.pace, _server_timing(), seconds)
    else:
        report(results, mode.every, seconds)
    client.print_messages()


def _server_timing() -> str:
    defaults = Settings()
    return (
        f"the server's defaults: debounceMs {defaults.debounce_ms}, "
        f"deadlineMs {defaults.deadline_ms}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_session_arguments(parser, sessions=8)
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

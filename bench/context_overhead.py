"""Overhead: everything but the model call (LSP round trip, context, prompt, post-processing),
p50 and p99, on the 2,000-file tree.

Starts ``quill serve`` over stdio with the tree (a copy of PyTorch's Python source, see
``sample_tree``) as its workspace folder, against a stand-in model server that answers at
once (``instant_tgi``), with ``debounceMs`` 0. Once the workspace scan has ended (its
``$/progress`` end), it opens a real file that imports from others, with a function body
cut out, and types the body back: one keystroke at a time (Enter and the indentation after
it as one), an incremental ``didChange`` then a ``textDocument/inlineCompletion`` at the
cursor, waiting for each answer. Each request's round trip is measured at the client; the
stand-in's own time on the ``/generate_stream`` calls made meanwhile (it timestamps them) is
subtracted, leaving "everything but the model call". ``quill.lastPrompt`` is asked now and
then for the context pieces the prompts held. Goals: p50 <= 10 ms, p99 <= 50 ms.

    python bench/context_overhead.py [--keystrokes 300] [--tree DIR] [--file REL]
        [--function NAME] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

from bench_stats import markdown_table, median, percentile, verdict
from instant_tgi import InstantTgi, instant_tgi
from sample_tree import DEFAULT_FILES, SampleTree, copy_tree, torch_source
from typing_replay import type_key

P50_GOAL_MS = 10.0
P99_GOAL_MS = 50.0
PROMPT_SAMPLE_EVERY = 25  # keystrokes between two ``quill.lastPrompt`` calls
SCAN_TIMEOUT_S = 600.0

# On the default tree: a function of torch.optim.adam that uses names the file imports.
DEFAULT_FILE = "optim/adam.py"
DEFAULT_FUNCTION = "_init_group"


@dataclass(frozen=True)
class Retyping:
    """A file with a function body cut out, and the keystrokes that type it back."""

    path: Path
    function: str
    start_line: int  # 0-based: where the cut body began
    opened_text: str
    keystrokes: tuple[str, ...]


@dataclass
class PromptSample:
    tokens: int
    budget: int
    pieces: int
    kinds: dict[str, int]


@dataclass
class Typing:
    """What the replay measured."""

    first_request_ms: float  # at the cursor, before the first keystroke (cold caches)
    first_request_tokenize_calls: int
    round_trip_ms: list[float] = field(default_factory=list)
    model_ms: list[float] = field(default_factory=list)  # the stand-in's own time
    tokenize_calls: list[int] = field(default_factory=list)
    suggestions: int = 0  # requests answered with an item
    prompts: list[PromptSample] = field(default_factory=list)
    model_calls: int = 0
    connections: int = 0  # TCP connections opened to the stand-in
    replay_exact: bool = False  # the server's text after typing equals the file's

    @property
    def overhead_ms(self) -> list[float]:
        return [rtt - model for rtt, model in zip(self.round_trip_ms, self.model_ms, strict=True)]


@dataclass
class OverheadResult:
    tree: str
    file: str
    function: str
    scan: str  # what the server's progress end said
    scan_wait_s: float
    load_average: tuple[float, float]  # 1-minute, before and after typing
    typing: Typing

    def summary(self) -> dict[str, Any]:
        overhead, round_trip = self.typing.overhead_ms, self.typing.round_trip_ms
        return {
            "requests": len(overhead),
            "overhead_ms_p50": median(overhead),
            "overhead_ms_p95": percentile(overhead, 95),
            "overhead_ms_p99": percentile(overhead, 99),
            "overhead_ms_max": max(overhead, default=float("nan")),
            "round_trip_ms_p50": median(round_trip),
            "round_trip_ms_p99": percentile(round_trip, 99),
            "model_ms_p50": median(self.typing.model_ms),
            "p50_goal_met": median(overhead) <= P50_GOAL_MS,
            "p99_goal_met": percentile(overhead, 99) <= P99_GOAL_MS,
        }


# -- what to type ----------------------------------------------------------------------


def plan_retyping(path: Path, function: str | None, keystrokes: int) -> Retyping:
    """Cut the start of a function's body (whole lines, about ``keystrokes`` keys' worth)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    header = _function_header(lines, function)
    body_start = next(i for i in range(header, len(lines)) if lines[i].rstrip().endswith(":")) + 1
    keys: list[str] = []
    end = body_start
    while end < len(lines) and len(keys) < keystrokes:
        line = lines[end]
        content = line.lstrip(" \t")
        indent = line[: len(line) - len(content)]
        if keys and keys[-1] == "\n":
            keys[-1] += indent  # Enter, then the editor's indentation: one change
        elif indent:
            keys.append(indent)
        keys += [*content.rstrip("\n"), "\n"]
        end += 1
    cut_from = sum(len(line) for line in lines[:body_start])
    cut_to = sum(len(line) for line in lines[:end])
    name = function or lines[header].split("def ", 1)[1].split("(", 1)[0]
    return Retyping(path, name, body_start, text[:cut_from] + text[cut_to:], tuple(keys))


def _function_header(lines: list[str], function: str | None) -> int:
    """The line of ``def function``; without a name, the first function from the middle of
    the file on with at least 20 lines."""
    defs = [i for i, line in enumerate(lines) if line.lstrip().startswith(("def ", "async def "))]
    if function is not None:
        named = [i for i in defs if f"def {function}(" in lines[i]]
        if not named:
            raise SystemExit(f"no function {function} in the file")
        return named[0]
    later = [i for i in defs if i >= len(lines) // 2] + defs
    long_enough = [i for i, j in zip(later, [*later[1:], len(lines)], strict=True) if j - i >= 20]
    if not long_enough:
        raise SystemExit("no function of 20 lines in the file: pass --function")
    return long_enough[0]


def pick_file(tree: SampleTree) -> Path:
    """Without ``--file``: the Python file of 200 to 3,000 lines with the most imports
    from its own package."""

    def relative_imports(path: Path) -> int:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if not 200 <= len(lines) <= 3000:
            return -1
        return sum(line.startswith("from .") for line in lines)

    candidates = [Path(f.path) for f in tree.files if f.language == "python"]
    if not candidates:
        raise SystemExit("no Python file in the tree: pass --file")
    return max(candidates, key=relative_imports)


# -- the session ----------------------------------------------------------------------


async def measure(
    tree: SampleTree, retyping: Retyping, stub: InstantTgi, work: Path, look_ahead: bool = True
) -> OverheadResult:
    client = LanguageClient("quill-bench", "0")
    scan_ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def create_progress(params: types.WorkDoneProgressCreateParams) -> None:
        """Accept the server's progress token: the scan reports through it."""

    @client.feature(types.PROGRESS)
    def progress(params: types.ProgressParams) -> None:
        value = params.value  # a dict: ``LSPAny`` is not structured into a class
        if isinstance(value, dict):
            kind, message = value.get("kind"), value.get("message")
        else:
            kind, message = getattr(value, "kind", None), getattr(value, "message", None)
        if kind == "end" and not scan_ended.done():
            scan_ended.set_result(str(message))

    @client.feature("quill/status")
    def status(params: object) -> None:
        """The status-bar notification: nothing to show here."""

    log = work / "server.log"
    command = shlex.join([sys.executable, "-m", "quill", "serve"])
    environment = {**os.environ, "QUILL_CACHE_DIR": str(work / "cache")}  # a fresh store
    # The server's log goes to a file: a pipe nobody reads would stall it once full.
    await client.start_io("/bin/sh", "-c", f"exec {command} 2>{shlex.quote(str(log))}",
                          env=environment)  # fmt: skip
    try:
        root_uri = from_fs_path(str(tree.root))
        assert root_uri is not None
        started = time.perf_counter()
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=True)
                ),
                root_uri=root_uri,
                workspace_folders=[types.WorkspaceFolder(root_uri, tree.root.name)],
                initialization_options={
                    "serverUrl": stub.url,
                    "debounceMs": 0,
                    "deadlineMs": 30_000,  # never cut a slow request short: measure it
                    # On: every answer is speculated on, a second pipeline run per keystroke.
                    "lookAhead": look_ahead,
                },
            )
        )
        client.initialized(types.InitializedParams())
        try:
            scan = await asyncio.wait_for(scan_ended, SCAN_TIMEOUT_S)
        except TimeoutError:
            message = f"no end of the scan after {SCAN_TIMEOUT_S:.0f} s; see {log}"
            raise SystemExit(message) from None
        scan_wait_s = time.perf_counter() - started
        load_before = os.getloadavg()[0]
        typing = await _type(client, retyping, stub)
        result = OverheadResult(
            tree=tree.describe(),
            file=str(retyping.path.relative_to(tree.root)),
            function=retyping.function,
            scan=scan,
            scan_wait_s=scan_wait_s,
            load_average=(load_before, os.getloadavg()[0]),
            typing=typing,
        )
        await client.shutdown_async(None)
        client.exit(None)
        return result
    except BaseException:
        print(f"server log ({log}):\n{log.read_text()[-4000:]}", file=sys.stderr)
        raise
    finally:
        await client.stop()


async def _type(client: LanguageClient, retyping: Retyping, stub: InstantTgi) -> Typing:
    uri = from_fs_path(str(retyping.path))
    assert uri is not None
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "python", 1, retyping.opened_text)
        )
    )
    position = types.Position(retyping.start_line, 0)
    first_ms, _ = await _request(client, uri, position, types.InlineCompletionTriggerKind.Invoked)
    typing_from = stub.stats.snapshot()
    typing = Typing(first_ms, typing_from.tokenize_calls)
    for version, key in enumerate(retyping.keystrokes, start=2):
        position = type_key(client, uri, version, position, key)
        before = stub.stats.snapshot()
        round_trip_ms, answered = await _request(
            client, uri, position, types.InlineCompletionTriggerKind.Automatic
        )
        after = stub.stats.snapshot()
        typing.round_trip_ms.append(round_trip_ms)
        typing.model_ms.append((after.generate_s - before.generate_s) * 1000)
        typing.tokenize_calls.append(after.tokenize_calls - before.tokenize_calls)
        typing.suggestions += answered
        sample_now = version % PROMPT_SAMPLE_EVERY == 0 or version == len(retyping.keystrokes) + 1
        if sample_now and (sample := await _last_prompt(client)) is not None:
            typing.prompts.append(sample)
    typed = stub.stats.snapshot()
    typing.model_calls = typed.generate_calls - typing_from.generate_calls
    typing.connections = typed.connections - typing_from.connections
    state = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="quill.documentState", arguments=[uri])
    )
    original = retyping.path.read_text(encoding="utf-8")
    typing.replay_exact = isinstance(state, dict) and state.get("text") == original
    return typing


async def _request(
    client: LanguageClient,
    uri: str,
    position: types.Position,
    trigger: types.InlineCompletionTriggerKind,
) -> tuple[float, bool]:
    started = time.perf_counter()
    answer = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger),
            text_document=types.TextDocumentIdentifier(uri),
            position=position,
        )
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    if isinstance(answer, types.InlineCompletionList):
        return elapsed_ms, bool(answer.items)
    return elapsed_ms, bool(answer)


async def _last_prompt(client: LanguageClient) -> PromptSample | None:
    prompt = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="quill.lastPrompt", arguments=[])
    )
    if not isinstance(prompt, dict):
        return None
    context = prompt.get("context") or []
    kinds = Counter(str(piece.get("kind")) for piece in context)
    return PromptSample(int(prompt["tokens"]), int(prompt["budget"]), len(context), dict(kinds))


# -- report -------------------------------------------------------------------------------


def report(result: OverheadResult) -> str:
    s, typing = result.summary(), result.typing
    pieces = [sample.pieces for sample in typing.prompts]
    kinds: Counter[str] = Counter()
    for sample in typing.prompts:
        kinds.update(sample.kinds)
    tokens = [sample.tokens for sample in typing.prompts]
    budget = typing.prompts[-1].budget if typing.prompts else 0
    lines = [
        f"tree: {result.tree}",
        f"server's scan: {result.scan} (ended {result.scan_wait_s:.1f} s after initialize)",
        f"typed: {s['requests']} keystrokes into {result.function}() of {result.file}",
        f"machine: {os.cpu_count()} cores, load average (1 min) {result.load_average[0]:.1f} "
        f"before typing, {result.load_average[1]:.1f} after",
        "",
    ]
    rows = [
        ["everything but the model call (overhead)", *_cells(typing.overhead_ms)],
        ["round trip as the client sees it", *_cells(typing.round_trip_ms)],
        ["the stand-in's time on /generate_stream", *_cells(typing.model_ms)],
    ]
    lines.append(markdown_table(["per request (ms)", "p50", "p95", "p99", "max"], rows))
    lines += [
        "",
        f"first request (opening the file, cold caches): {typing.first_request_ms:.1f} ms, "
        f"{typing.first_request_tokenize_calls} /tokenize calls",
        f"requests answered with a suggestion: {typing.suggestions}/{s['requests']}; "
        f"the server's text after typing equals the file: {verdict(typing.replay_exact)}",
        f"/tokenize calls per request: median {median(typing.tokenize_calls):.0f}, "
        f"max {max(typing.tokenize_calls, default=0)}; TCP connections opened to the stand-in: "
        f"{typing.connections} for {typing.model_calls} /generate_stream calls",
        f"context pieces in {len(pieces)} sampled prompts: min {min(pieces, default=0)}, "
        f"median {median(pieces):.0f}, max {max(pieces, default=0)} "
        f"({', '.join(f'{kind} {n}' for kind, n in kinds.most_common()) or 'none'}); "
        f"prompt tokens median {median(tokens):.0f} of a {budget} budget",
        "",
        f"goal p50 <= {P50_GOAL_MS:g} ms: {verdict(s['p50_goal_met'])} "
        f"({s['overhead_ms_p50']:.1f} ms); "
        f"goal p99 <= {P99_GOAL_MS:g} ms: {verdict(s['p99_goal_met'])} "
        f"({s['overhead_ms_p99']:.1f} ms)",
    ]
    return "\n".join(lines)


def _cells(values: list[float]) -> list[str]:
    marks = (median(values), percentile(values, 95), percentile(values, 99), max(values))
    return [f"{value:.2f}" for value in marks]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="quill-overhead-bench-") as temporary:
        work = Path(temporary)
        if args.tree is not None:
            source, languages = args.tree.resolve(), None
        else:
            source, languages = torch_source(), frozenset({"python"})
        name = "torch, Python" if args.tree is None else source.name
        tree = copy_tree(source, work / "tree", name, args.files, languages)
        relative = args.file or (DEFAULT_FILE if args.tree is None else None)
        path = tree.root / relative if relative else pick_file(tree)
        function = args.function or (DEFAULT_FUNCTION if relative == DEFAULT_FILE else None)
        retyping = plan_retyping(path, function, args.keystrokes)
        print(f"tree: {tree.describe()}; waiting for the server's scan", file=sys.stderr)
        with instant_tgi() as stub:
            result = await measure(tree, retyping, stub, work, not args.no_look_ahead)
    if args.json:
        print(json.dumps(asdict(result) | result.summary(), indent=2))
    else:
        print(report(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keystrokes", type=int, default=300)
    parser.add_argument("--tree", type=Path, help="a source tree (copied first); default: torch")
    parser.add_argument("--files", type=int, default=DEFAULT_FILES, help="0: all of them")
    parser.add_argument("--file", help="the file to type in, relative to the tree")
    parser.add_argument("--function", help="the function whose body is typed again")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--no-look-ahead",
        action="store_true",
        help="no warm-ups or speculations: one pipeline run per keystroke, as before them",
    )
    asyncio.run(main(parser.parse_args()))

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
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from context_overhead_report import OverheadResult, PromptSample, Typing, report
from function_retyping import Retyping, pick_file, plan_retyping
from instant_tgi import InstantTgi, instant_tgi
from lsp_session import BenchClient, execute, shut_down_after, timed_completion
from sample_tree import SampleTree, add_tree_arguments, copy_given_tree, copy_torch_python
from typing_replay import open_document, type_key

PROMPT_SAMPLE_EVERY = 25  # keystrokes between two ``quill.lastPrompt`` calls
SCAN_TIMEOUT_S = 600.0

# On the default tree: a function of torch.optim.adam that uses names the file imports.
DEFAULT_FILE = "optim/adam.py"
DEFAULT_FUNCTION = "_init_group"


async def measure(
    tree: SampleTree, retyping: Retyping, stub: InstantTgi, work: Path, look_ahead: bool = True
) -> OverheadResult:
    client = BenchClient(name="quill-bench")
    log = work / "server.log"
    # The server's log goes to a file, and its index store is a fresh one.
    await client.start(work / "cache", log_level=None, log=log)
    async with shut_down_after(client):
        try:
            started = time.perf_counter()
            options = {
                "serverUrl": stub.url,
                "debounceMs": 0,
                "deadlineMs": 30_000,  # never cut a slow request short: measure it
                # On: every answer is speculated on, a second pipeline run per keystroke.
                "lookAhead": look_ahead,
            }
            await client.initialize_editor(tree.root, options)
            try:
                await asyncio.wait_for(client.indexed.wait(), SCAN_TIMEOUT_S)
            except TimeoutError:
                message = f"no end of the scan after {SCAN_TIMEOUT_S:.0f} s; see {log}"
                raise SystemExit(message) from None
            scan_wait_s = time.perf_counter() - started
            load_before = os.getloadavg()[0]
            typing = await _type(client, retyping, stub)
            return OverheadResult(
                tree=tree.describe(),
                file=str(retyping.path.relative_to(tree.root)),
                function=retyping.function,
                scan=client.index_message,
                scan_wait_s=scan_wait_s,
                load_average=(load_before, os.getloadavg()[0]),
                typing=typing,
            )
        except BaseException:
            print(f"server log ({log}):\n{log.read_text()[-4000:]}", file=sys.stderr)
            raise


async def _type(client: LanguageClient, retyping: Retyping, stub: InstantTgi) -> Typing:
    uri = retyping.path.as_uri()
    open_document(client, uri, retyping.opened_text)
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
    state = await execute(client, "quill.documentState", uri)
    original = retyping.path.read_text(encoding="utf-8")
    typing.replay_exact = isinstance(state, dict) and state.get("text") == original
    return typing


async def _request(
    client: LanguageClient,
    uri: str,
    position: types.Position,
    trigger: types.InlineCompletionTriggerKind,
) -> tuple[float, bool]:
    items, elapsed_ms = await timed_completion(client, uri, position, trigger)
    return elapsed_ms, bool(items)


async def _last_prompt(client: LanguageClient) -> PromptSample | None:
    prompt = await execute(client, "quill.lastPrompt")
    if not isinstance(prompt, dict):
        return None
    context = prompt.get("context") or []
    kinds = Counter(str(piece.get("kind")) for piece in context)
    return PromptSample(int(prompt["tokens"]), int(prompt["budget"]), len(context), dict(kinds))


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="quill-overhead-bench-") as temporary:
        work = Path(temporary)
        if args.tree is not None:
            tree = copy_given_tree(args.tree, work / "tree", args.files)
        else:
            tree = copy_torch_python(work / "tree", args.files)
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
    add_tree_arguments(parser)
    parser.add_argument("--file", help="the file to type in, relative to the tree")
    parser.add_argument("--function", help="the function whose body is typed again")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--no-look-ahead",
        action="store_true",
        help="no warm-ups or speculations: one pipeline run per keystroke, as before them",
    )
    asyncio.run(main(parser.parse_args()))

"""Recall of the context engine: does the prompt hold the definition the next line needs?

Three sets of cases (see ``make_recall_cases.py``), each reported on its own, because they
say different things:

  tuning      pip's own files: the ranking was tuned on these, so this is its best case
  held-out    torch.fx's files, which nobody tuned on: how well the tuning carries over
  unwritten   torch.fx again, the needed name's import taken out of the text before the
              cursor (code written first, the import after): what is left when the import
              block does not already name what comes next

Each case is turned into a prompt by ``quill.completion.prompt.build_prompt`` with the
prefix-only template of the packaged model, at each budget, two ways:

  context      the workspace index over a copy of the set's package folder (the
               workspace folder; the only open buffer is the current file, cut at the
               cursor), as ``quill serve`` builds it
  file only    the current file alone (``context=None``): the baseline

A hit: a context piece of the defining file whose lines cover the definition's line, or
the definition's ``def name(`` / ``class name`` line anywhere in the prompt text. Tokens
are counted by the real model's tokenizer: the embedded host is started for the run and
its ``/tokenize`` is used. The goal: recall at 2,048 tokens of at least 80%.

Each miss with context at the largest budget gets a reason: the definition is not in the
index; the import is not there before the cursor (the unwritten set); the file's import is
not resolved to the defining file (a re-export through a package's ``__init__.py``); it is
no candidate because a piece of the same file that overlaps it came first, or because the
candidate list was full before it; or it was ranked (at the rank shown) but did not fit
the budget.

    python bench/context_recall.py [--sets tuning held-out unwritten]
                                   [--budgets 1024 2048] [--show-misses 10]

A set whose cases file no longer matches its source (another torch, say) is drawn again
in memory with the builder's defaults, and the report says so.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench_stats import markdown_table, median
from make_recall_cases import CASE_SETS, CaseSet, RecallCase, cursor_text, describe, load_cases
from quill.backends.base import ServerInfo
from quill.backends.tgi import TgiClient
from quill.backends.tokens import TokenCounter
from quill.completion.prompt import build_prompt
from quill.completion.templates import TEMPLATES, Prompt, anchored_window_start
from quill.context.candidates import ContextPiece, Window, rank_candidates
from quill.context.prompt_context import PromptContext
from quill.context.snippets import Buffer
from quill.context.workspace import WorkspaceContext
from quill.cursor import Cursor
from quill.settings import Settings
from recall_sources import SourceTree
from running_host import running_host

GOAL_BUDGET = 2048
GOAL_RECALL = 0.80
TEMPLATE = TEMPLATES["prefix"]  # the packaged model (Gemma 3 270M) is a base model, no FIM


@dataclass
class Outcome:
    hit: bool
    by_text_only: bool = False  # a hit through the prompt text, not through a piece
    miss_reason: str = ""
    prompt_tokens: int = 0
    pieces: int = 0


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def hits(self) -> int:
        return sum(outcome.hit for outcome in self.outcomes)

    def recall(self) -> float:
        return self.hits / len(self.outcomes) if self.outcomes else 0.0

    def cell(self) -> str:
        return f"{100 * self.recall():.1f}% ({self.hits}/{len(self.outcomes)})"


def cursor_for(case: RecallCase, root: Path) -> Cursor:
    """The case's text before the cursor, the cursor at its end."""
    text = cursor_text(case, root)
    return Cursor(str(root / case.file), "python", text, len(text))


def covers_definition(piece: ContextPiece, case: RecallCase, root: Path) -> bool:
    return (
        piece.path == str(root / case.definition_file)
        and piece.start_line <= case.definition_line - 1 <= piece.end_line
    )


def judge(prompt: Prompt, case: RecallCase, root: Path) -> Outcome:
    by_piece = any(covers_definition(piece, case, root) for piece in prompt.pieces)
    by_text = case.definition_text in prompt.text
    return Outcome(
        hit=by_piece or by_text,
        by_text_only=by_text and not by_piece,
        prompt_tokens=prompt.tokens or 0,
        pieces=len(prompt.pieces),
    )


def miss_reason(workspace: WorkspaceContext, cursor: Cursor, case: RecallCase) -> str:
    """Why the definition is not in the prompt, as far as the index and ranking tell:
    not indexed; not imported before the cursor (the unwritten set); the file's import of
    it not resolved to the defining file (a re-export); ranked but over the budget; or
    resolved yet no candidate, because a piece of the same file that overlaps it came
    first, or because the candidate list was full."""
    index = workspace.index
    defining = str(workspace.folders[0] / case.definition_file)
    line = case.definition_line - 1
    entries = [
        entry.symbol
        for entry in index.lookup(_defined_name(case))
        if entry.path == defining and entry.symbol.start_line <= line <= entry.symbol.end_line
    ]
    if not entries:
        return "definition not in the index"
    start, end = entries[0].start_line, entries[0].end_line
    ranked = rank_candidates(cursor, _window(cursor), workspace.prompt_context.sources)
    for rank, piece in enumerate(ranked, 1):
        if covers_definition(piece, case, workspace.folders[0]):
            return f"ranked #{rank} ({piece.reason}), did not fit"
    symbols = index.symbols_of(cursor.path)
    imports = [item for item in symbols.imports if case.symbol in item.names] if symbols else []
    if not imports and case.import_removed is not None:
        return "not imported before the cursor, and not found another way"
    if not any(
        entry.path == defining
        for item in imports
        for entry in index.imported_definitions(cursor.path, "python", item)
    ):
        return "import not resolved to the defining file"
    for piece in ranked:
        if piece.path == defining and piece.start_line <= end and start <= piece.end_line:
            return f"no candidate: an overlapping piece came first ({piece.reason})"
    return f"no candidate: not in the first {len(ranked)} candidates"


def _window(cursor: Cursor) -> Window:
    """The lines of the current file the prompt shows, before it is fitted to the budget
    (the prefix-only template has no suffix)."""
    start = anchored_window_start(cursor.text, cursor.offset, Settings().max_prefix_chars)
    return Window(cursor.text.count("\n", 0, start), cursor.text.count("\n", 0, cursor.offset))


def _defined_name(case: RecallCase) -> str:
    """The name as defined (the file may import it under an alias)."""
    words = case.definition_text.replace("(", " ").replace(":", " ").split()
    return words[1] if len(words) > 1 else case.symbol


@dataclass
class Results:
    case_set: CaseSet
    source: SourceTree
    cases: list[RecallCase]
    root: Path  # the workspace folder (the copy)
    indexed_files: int
    index_seconds: float
    tallies: dict[tuple[int, str], Tally]  # by (budget, "context" | "file")
    misses: list[tuple[RecallCase, str]]  # with context, at the largest budget
    build_seconds: list[float]


async def run(case_sets: list[CaseSet], budgets: list[int], show_misses: int) -> None:
    loaded = [(case_set, *load_cases(case_set)) for case_set in case_sets]
    with running_host() as host:
        client = TgiClient(host.url)
        try:
            info = await client.info()
            counter = TokenCounter(client.tokenize)
            results = []
            for case_set, source, cases in loaded:
                with tempfile.TemporaryDirectory() as scratch:
                    measured = await measure(
                        case_set, source, cases, budgets, counter, info, Path(scratch)
                    )
                    results.append(measured)
        finally:
            await client.aclose()
    print_report(results, budgets, info, show_misses)


async def measure(
    case_set: CaseSet,
    source: SourceTree,
    cases: list[RecallCase],
    budgets: list[int],
    counter: TokenCounter,
    info: ServerInfo,
    scratch: Path,
) -> Results:
    root = source.copy_workspace(scratch / "src")
    open_buffers: list[Buffer] = []
    workspace = WorkspaceContext([root], lambda: open_buffers, scratch / "store")
    scan = await workspace.scan()
    context: PromptContext = workspace.prompt_context
    results = Results(
        case_set, source, cases, root, scan.files, scan.seconds,
        {(budget, mode): Tally() for budget in budgets for mode in ("context", "file")}, [], [],
    )  # fmt: skip
    for version, case in enumerate(cases, 1):
        cursor = cursor_for(case, root)
        # As the server does on didOpen: the buffer (cut at the cursor) is indexed as is.
        open_buffers[:] = [Buffer(cursor.path, version, cursor.text)]
        await workspace.buffer_changed(cursor.path, "python", cursor.text)
        for budget in budgets:
            settings = Settings(prompt_tokens=budget)
            context.selection.forget(cursor.path)  # each budget chooses afresh
            started = time.perf_counter()
            prompt = await build_prompt(cursor, TEMPLATE, settings, info, counter, context)
            results.build_seconds.append(time.perf_counter() - started)
            outcome = judge(prompt, case, root)
            if not outcome.hit:
                outcome.miss_reason = miss_reason(workspace, cursor, case)
                if budget == max(budgets):
                    results.misses.append((case, outcome.miss_reason))
            results.tallies[budget, "context"].outcomes.append(outcome)
            baseline = await build_prompt(cursor, TEMPLATE, settings, info, counter, None)
            results.tallies[budget, "file"].outcomes.append(judge(baseline, case, root))
        await workspace.file_changed(cursor.path)  # back to the file on disk
    workspace.close()
    return results


def print_report(
    results: list[Results], budgets: list[int], info: ServerInfo, show_misses: int
) -> None:
    print(f"model {info.model_id}; tokens counted at the host; prefix-only prompts")
    print()
    header = ["cases", "budget (tokens)", "recall, context", "recall, current file only",
              "mean prompt tokens (context)", "mean pieces", "goal"]  # fmt: skip
    rows = []
    for result in results:
        files = len({case.file for case in result.cases})
        name = (
            f"{result.case_set.title}: {len(result.cases)} cases in {files} files "
            f"of {result.source.package} {result.source.version}"
        )
        for budget in budgets:
            with_context = result.tallies[budget, "context"]
            alone = result.tallies[budget, "file"]
            tokens = statistics.mean(outcome.prompt_tokens for outcome in with_context.outcomes)
            pieces = statistics.mean(outcome.pieces for outcome in with_context.outcomes)
            goal = ""
            if budget == GOAL_BUDGET:
                met = with_context.recall() >= GOAL_RECALL
                goal = f"≥ {100 * GOAL_RECALL:.0f}%: {'met' if met else 'NOT met'}"
            rows.append([name, f"{budget:,}", with_context.cell(), alone.cell(),
                         f"{tokens:.0f}", f"{pieces:.1f}", goal])  # fmt: skip
    print(markdown_table(header, rows))
    for result in results:
        print_details(result, budgets, show_misses)


def print_details(result: Results, budgets: list[int], show_misses: int) -> None:
    source = result.source
    print()
    print(f"## {result.case_set.title}: {describe(result.cases)}")
    if source.note:
        print(source.note)
    print(
        f"workspace {result.root} (a copy of {source.root}"
        f"{' (' + ', '.join(source.copied) + ' only)' if source.copied else ''}; "
        f"{result.indexed_files} files indexed in {result.index_seconds:.1f} s); prompt built "
        f"in {1000 * median(result.build_seconds):.0f} ms (median)"
    )
    text_only = {
        budget: sum(outcome.by_text_only for outcome in result.tallies[budget, "context"].outcomes)
        for budget in budgets
    }
    print(f"hits through the prompt text only (no covering piece): {text_only}")
    misses = result.misses
    reexported = [case for case, _ in misses if case.reexported]
    print(
        f"misses at {max(budgets):,} tokens: {len(misses)} "
        f"({len(reexported)} of them imported through a re-export)"
    )
    reasons = Counter(_reason_kind(reason) for _, reason in misses)
    for reason, count in reasons.most_common():
        print(f"  {count:4d}  {reason}")
    for case, reason in misses[:show_misses]:
        print(
            f"  - {case.file}:{case.line}:{case.column} `{case.line_text[:60]}` needs "
            f"`{case.symbol}` ({case.definition_file}:{case.definition_line}): {reason}"
        )


def _reason_kind(reason: str) -> str:
    if reason.startswith("ranked"):
        return "ranked, did not fit the budget"
    return reason.split(" (", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=list(CASE_SETS), default=list(CASE_SETS))
    parser.add_argument("--budgets", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--show-misses", type=int, default=10, help="misses listed per set")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    case_sets = [CASE_SETS[name] for name in args.sets]
    asyncio.run(run(case_sets, sorted(args.budgets), args.show_misses))


if __name__ == "__main__":
    main()

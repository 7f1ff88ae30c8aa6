"""The long fuzz campaign against ``quill serve``: random and malformed LSP messages and
incremental edits in each position encoding; prints crashes, unanswered requests and
whether the documents stayed exact.

    python bench/fuzz_lsp.py --messages 10000 [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lsp_fuzz import run_campaign

ENCODINGS = ("utf-8", "utf-16", "utf-32")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000, help="in all, over the encodings")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.monotonic()
    totals = {"messages": 0, "requests": 0, "crashes": 0, "unanswered": 0, "answered twice": 0,
              "document checks": 0, "document mismatches": 0}  # fmt: skip
    for index, encoding in enumerate(ENCODINGS):
        share = args.messages // len(ENCODINGS) + (index < args.messages % len(ENCODINGS))
        report = asyncio.run(run_campaign(args.seed + index, share, encoding))
        print(
            f"{encoding}: {report.messages} messages, {report.requests} requests, "
            f"unanswered {len(report.unanswered)}, crashed {report.crashed}, "
            f"document mismatches {report.document_mismatches}/{report.document_checks}"
        )
        totals["messages"] += report.messages
        totals["requests"] += report.requests
        totals["crashes"] += int(report.crashed)
        totals["unanswered"] += len(report.unanswered)
        totals["answered twice"] += len(report.answered_twice)
        totals["document checks"] += report.document_checks
        totals["document mismatches"] += report.document_mismatches
    exact = totals["document mismatches"] == 0
    print(", ".join(f"{key} {value}" for key, value in totals.items()))
    print(f"documents exact: {'yes' if exact else 'NO'} ({time.monotonic() - started:.1f} s)")
    ok = exact and not (totals["crashes"] or totals["unanswered"] or totals["answered twice"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Latency of inline completions through ``quill serve`` against the embedded host.

Starts a fresh host and a fresh language server, opens a real file, then asks for a
completion cold (nothing cached at the host), and again after each simulated keystroke
(warm: the prompt shares all but its last tokens with the one before).

    python bench/completion_latency.py [--keystrokes 20]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from lsprotocol import types

from bench_stats import markdown_table, median
from lsp_session import BenchClient, shut_down_after
from running_host import running_host
from typing_replay import open_document, type_key

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "server" / "quill" / "completion" / "postprocess.py"  # a real file of some length
URI = "file:///bench/postprocess.py"
INVOKED = types.InlineCompletionTriggerKind.Invoked


async def main(keystrokes: int) -> None:
    with running_host() as host:
        await measure(host.url, keystrokes)


async def measure(url: str, keystrokes: int) -> None:
    client = BenchClient(name="quill-bench")
    await client.start()  # the user's own index store: there is no workspace folder
    async with shut_down_after(client):
        await client.initialize_editor(None, {"serverUrl": url, "deadlineMs": 60_000})
        # Cut the file in the middle of a function body: the cursor at a new line there.
        lines = SOURCE.read_text().splitlines(keepends=True)
        cut = next(i for i, line in enumerate(lines) if "def cut_at_block_end" in line) + 3
        text = "".join(lines[:cut]) + "    "
        open_document(client, URI, text)
        position = types.Position(cut, 4)
        suggestion, cold_ms = await client.suggestion(URI, position, INVOKED)

        typed = "lines = text.split('\\n')\n    kept = [lines[0]]\n"[:keystrokes]
        warm: list[float] = []
        for version, char in enumerate(typed, start=2):
            position = type_key(client, URI, version, position, char)
            _, elapsed_ms = await client.suggestion(URI, position, INVOKED)
            warm.append(elapsed_ms)

        print(f"file: {SOURCE.relative_to(ROOT)} cut at line {cut + 1} ({len(text)} chars)")
        print(f"first suggestion: {suggestion!r}")
        print()
        rows = [
            ["cold (empty KV cache)", f"{cold_ms:.0f}"],
            [f"warm after a keystroke, p50 of {len(warm)}", f"{median(warm):.0f}"],
            ["warm after a keystroke, max", f"{max(warm):.0f}"],
        ]
        print(markdown_table(["request", "latency (ms)"], rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keystrokes", type=int, default=20)
    asyncio.run(main(parser.parse_args().keystrokes))

"""Latency of inline completions through ``quill serve`` against the embedded host.

Starts a fresh host and a fresh language server, opens a real file, then asks for a
completion cold (nothing cached at the host), and again after each simulated keystroke
(warm: the prompt shares all but its last tokens with the one before).

    python bench/completion_latency.py [--keystrokes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from running_host import running_host

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "server" / "quill" / "completion" / "postprocess.py"  # a real file of some length
URI = "file:///bench/postprocess.py"


async def request(client: LanguageClient, position: types.Position) -> tuple[float, str]:
    started = time.perf_counter()
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(URI),
            position=position,
        )
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    text = result.items[0].insert_text if result and result.items else ""
    return elapsed_ms, str(text)


async def main(keystrokes: int) -> None:
    with running_host() as host:
        await measure(host.url, keystrokes)


async def measure(url: str, keystrokes: int) -> None:
    client = LanguageClient("quill-bench", "0")

    @client.feature("quill/status")
    def ignore_status(params: object) -> None:
        """The status-bar notification: nothing to show here."""

    await client.start_io(sys.executable, "-m", "quill", "serve", "--log-level", "warning")
    try:
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                initialization_options={"serverUrl": url, "deadlineMs": 60_000},
            )
        )
        client.initialized(types.InitializedParams())
        # Cut the file in the middle of a function body: the cursor at a new line there.
        lines = SOURCE.read_text().splitlines(keepends=True)
        cut = next(i for i, line in enumerate(lines) if "def cut_at_block_end" in line) + 3
        text = "".join(lines[:cut]) + "    "
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(URI, "python", 1, text))
        )
        position = types.Position(cut, 4)
        cold_ms, suggestion = await request(client, position)

        typed = "lines = text.split('\\n')\n    kept = [lines[0]]\n"[:keystrokes]
        warm: list[float] = []
        for version, char in enumerate(typed, start=2):
            change = types.TextDocumentContentChangePartial(
                range=types.Range(position, position), text=char
            )
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(uri=URI, version=version), [change]
                )
            )
            if char == "\n":
                position = types.Position(position.line + 1, 0)
            else:
                position = types.Position(position.line, position.character + 1)
            elapsed_ms, _ = await request(client, position)
            warm.append(elapsed_ms)

        print(f"file: {SOURCE.relative_to(ROOT)} cut at line {cut + 1} ({len(text)} chars)")
        print(f"first suggestion: {suggestion!r}")
        print()
        print("| request | latency (ms) |")
        print("| --- | --- |")
        print(f"| cold (empty KV cache) | {cold_ms:.0f} |")
        print(f"| warm after a keystroke, p50 of {len(warm)} | {statistics.median(warm):.0f} |")
        print(f"| warm after a keystroke, max | {max(warm):.0f} |")
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keystrokes", type=int, default=20)
    asyncio.run(main(parser.parse_args().keystrokes))

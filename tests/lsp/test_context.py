"""The context engine over LSP, with the real host and the packaged model: the workspace
is indexed off the request path (with $/progress), its definitions reach the prompt, and
the index follows edits, saves and files changed on disk."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from quill.completion.service import CONTEXT_REFRESH_PAUSE_S
from tests.conftest import (
    INDEX_PROGRESS,
    StartClient,
    ended_scan,
    indexed,
    inline_params,
    open_document,
)
from tests.fake_tgi import FakeTgi, serve_fake_tgi

SHAPES = '''"""Plane geometry."""


def polygon_area(points: list[tuple[float, float]]) -> float:
    """The area of a simple polygon (shoelace formula)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2
'''
PERIMETER = '''

def perimeter(points: list[tuple[float, float]]) -> float:
    """The length of a closed polygon's boundary."""
    return sum(abs(complex(*a) - complex(*b)) for a, b in zip(points, points[1:] + points[:1]))
'''
MAIN = """from geometry.shapes import polygon_area


def field_size(corners):
    area = polygon_area(corners)
    return """


def _workspace(root: Path) -> Path:
    (root / "geometry").mkdir(parents=True)
    (root / "geometry" / "__init__.py").write_text("")
    (root / "geometry" / "shapes.py").write_text(SHAPES)
    (root / "main.py").write_text(MAIN)
    (root / ".env").write_text("def polygon_secret():\n    return 'hunter2'\n")
    return root


async def _last_prompt(client: LanguageClient) -> dict[str, Any]:
    prompt = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="quill.lastPrompt")
    )
    assert isinstance(prompt, dict)
    return prompt


async def _complete_at_end(client: LanguageClient, uri: str, text: str) -> None:
    lines = text.split("\n")
    position = types.Position(len(lines) - 1, len(lines[-1]))
    await client.text_document_inline_completion_async(inline_params(uri, position))


async def test_workspace_definitions_reach_the_prompt(
    start_client: StartClient, model_host_url: str, tmp_path: Path
) -> None:
    root = _workspace(tmp_path / "project")
    env = {"QUILL_CACHE_DIR": str(tmp_path / "cache")}
    # The full prompt from the first request (not the small one of a document not warm yet).
    options = {
        "serverUrl": model_host_url,
        "debounceMs": 0,
        "deadlineMs": 30_000,
        "coldPromptTokens": 0,
    }
    client, _ = await start_client(options, INDEX_PROGRESS, env=env, workspace=root)
    reports = await indexed(client)
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert reports[-1].message.startswith("3 files")  # .env is not indexed
    uri = (root / "main.py").as_uri()
    open_document(client, uri, MAIN)
    await _complete_at_end(client, uri, MAIN)
    prompt = await _last_prompt(client)
    [piece] = prompt["context"]
    assert piece["path"] == str(root / "geometry" / "shapes.py")
    assert (piece["startLine"], piece["endLine"]) == (4, 9)
    assert "polygon_area" in piece["reason"]
    assert "# def polygon_area(points: list[tuple[float, float]]) -> float:" in prompt["text"]
    assert "hunter2" not in prompt["text"]
    assert "polygon_secret" not in prompt["text"]
    assert prompt["tokens"] <= prompt["budget"] == 2048

    # A hover on the imported name shows its definition from the index, at once.
    started = time.perf_counter()
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(4, 12))
    )
    hover_ms = (time.perf_counter() - started) * 1000
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    shapes_uri = (root / "geometry" / "shapes.py").as_uri()
    assert "def polygon_area(points: list[tuple[float, float]]) -> float:" in hover.contents.value
    assert "shoelace formula" in hover.contents.value
    assert f"({shapes_uri}#L4)" in hover.contents.value
    assert hover_ms < 1500


async def test_the_index_follows_buffers_saves_and_watched_files(
    start_client: StartClient, model_host_url: str, tmp_path: Path
) -> None:
    root = _workspace(tmp_path / "project")
    env = {"QUILL_CACHE_DIR": str(tmp_path / "cache")}
    options = {
        "serverUrl": model_host_url,
        "debounceMs": 0,
        "deadlineMs": 30_000,
        "maxNewTokens": 4,
    }
    client, _ = await start_client(options, INDEX_PROGRESS, env=env, workspace=root)
    await indexed(client)
    # A file created on disk (a checkout, a generator) arrives as a watched-file event.
    (root / "geometry" / "solids.py").write_text(
        "def cube_volume(edge: float) -> float:\n    return edge**3\n"
    )
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            [
                types.FileEvent(
                    (root / "geometry" / "solids.py").as_uri(), types.FileChangeType.Created
                )
            ]
        )
    )
    text = "from geometry.solids import cube_volume\n\nv = cube_volume("
    uri = (root / "main.py").as_uri()
    open_document(client, uri, text)
    await asyncio.sleep(0.5)
    await _complete_at_end(client, uri, text)
    assert any(
        "cube_volume" in piece["reason"] for piece in (await _last_prompt(client))["context"]
    )

    # An unsaved edit of another open buffer is indexed once typing pauses.
    shapes_uri = (root / "geometry" / "shapes.py").as_uri()
    open_document(client, shapes_uri, SHAPES)
    renamed = SHAPES.replace("polygon_area", "shoelace_area")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=shapes_uri, version=2),
            [types.TextDocumentContentChangeWholeDocument(renamed)],
        )
    )
    await asyncio.sleep(1.0)  # the re-index waits for typing to pause (0.5 s)
    text2 = "from geometry.shapes import shoelace_area\n\nv = shoelace_area("
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [types.TextDocumentContentChangeWholeDocument(text2)],
        )
    )
    # A suggestion keeps the document's context as the model server has it cached; the
    # fresh choice is warmed once typing pauses, and a later suggestion has it.
    deadline = time.monotonic() + 30
    for attempt in itertools.count(3):
        # Typed anew each time: the same place again would be answered from the cache.
        typed = text2.replace("v = ", f"v{attempt} = ")
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=attempt),
                [types.TextDocumentContentChangeWholeDocument(typed)],
            )
        )
        await _complete_at_end(client, uri, typed)
        context = (await _last_prompt(client))["context"]
        if any(
            "shoelace_area" in piece["reason"] and piece["kind"] == "definition"
            for piece in context
        ):
            break
        assert time.monotonic() < deadline, context
        await asyncio.sleep(CONTEXT_REFRESH_PAUSE_S + 0.5)  # a pause


async def test_a_huge_workspace_does_not_hold_completions_back(
    start_client: StartClient, model_host_url: str, tmp_path: Path
) -> None:
    """Completions are answered while the first scan is still running: they never wait
    for the index."""
    root = tmp_path / "big"
    root.mkdir()
    body = "".join(f"def helper_{n}(value):\n    return value + {n}\n\n\n" for n in range(200))
    for n in range(800):  # several seconds of parsing, longer than the completion's deadline
        (root / f"module_{n}.py").write_text(body)
    env = {"QUILL_CACHE_DIR": str(tmp_path / "cache")}
    options = {"serverUrl": model_host_url, "debounceMs": 0, "maxNewTokens": 4}
    client, _ = await start_client(options, INDEX_PROGRESS, env=env, workspace=root)
    uri = (root / "main.py").as_uri()
    text = "def main():\n    return "
    open_document(client, uri, text)
    await _complete_at_end(client, uri, text)
    scan_over_at_answer = ended_scan(client) is not None
    reports = await indexed(client, timeout_s=180)
    assert not scan_over_at_answer
    assert any(isinstance(report, types.WorkDoneProgressReport) for report in reports)
    assert reports[-1].message.startswith("800 files")


def test_quill_prompt_shows_the_prompt_and_why(model_host_url: str, tmp_path: Path) -> None:
    root = _workspace(tmp_path / "project")
    env = dict(os.environ, QUILL_CACHE_DIR=str(tmp_path / "cache"))
    line = MAIN.count("\n") + 1
    column = len(MAIN.rsplit("\n", 1)[1]) + 1
    result = subprocess.run(
        [sys.executable, "-m", "quill", "prompt", f"{root / 'main.py'}:{line}:{column}",
         "--workspace", str(root), "--server-url", model_host_url, "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    shown = json.loads(result.stdout)
    assert shown["prompt"].endswith("    return ")
    assert shown["indexed_files"] == 3
    [piece] = shown["context"]
    assert piece["path"].endswith("geometry/shapes.py")
    assert piece["start_line"] == 4
    assert shown["tokens"] <= shown["budget"]

    plain = subprocess.run(
        [sys.executable, "-m", "quill", "prompt", f"{root / 'main.py'}:{line}:{column}",
         "--workspace", str(root), "--server-url", model_host_url],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    assert plain.stdout == shown["prompt"] + "\n"  # the very text, then a line end
    assert "geometry/shapes.py:4-9" in plain.stderr
    assert "imported" in plain.stderr


async def test_a_git_ignored_workspace_is_said_to_be_private(
    start_client: StartClient, model_host_url: str, tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("vendor/\n")
    root = _workspace(tmp_path / "vendor" / "project")
    env = {"QUILL_CACHE_DIR": str(tmp_path / "cache")}
    client, _ = await start_client(
        {"serverUrl": model_host_url}, INDEX_PROGRESS, env=env, workspace=root
    )
    reports = await indexed(client)
    assert reports[-1].message.startswith("0 files")
    for _ in range(200):  # the warning follows the end of the scan
        if client.messages:
            break
        await asyncio.sleep(0.05)
    [message] = client.messages
    assert message.type == types.MessageType.Warning
    assert str(root) in message.message
    assert "ignored by git" in message.message


def _warm_ups(fake: FakeTgi) -> list[str]:
    """The prompts of the warm-ups the stand-in got: generations of one token."""
    return [
        request["inputs"]
        for request in fake.requests
        if request.get("parameters", {}).get("max_new_tokens") == 1
    ]


async def test_a_stale_context_is_refreshed_once_typing_pauses(
    start_client: StartClient, tmp_path: Path
) -> None:
    """A new name brings a definition the held context lacks: it is not computed while the
    user types (each keystroke would pay for the whole file window again), but once typing
    pauses, by a warm-up the next suggestion finds computed. The stand-in records the
    requests; which prompts it gets is the point, not what it answers."""
    root = _workspace(tmp_path / "project")
    shapes = root / "geometry" / "shapes.py"
    shapes.write_text(SHAPES + PERIMETER)
    fake = FakeTgi("ok")
    with serve_fake_tgi(fake) as url:
        options = {"serverUrl": url, "debounceMs": 0, "deadlineMs": 10_000}
        client, _ = await start_client(options, INDEX_PROGRESS, env={}, workspace=root)
        await indexed(client)
        uri = (root / "main.py").as_uri()
        open_document(client, uri, MAIN)
        await _complete_at_end(client, uri, MAIN)
        await asyncio.sleep(0.5)  # the warm-up of the opened document, if any, is sent
        before = len(_warm_ups(fake))
        typed = "from geometry.shapes import perimeter\n" + MAIN + "perimeter(corners) + "
        for version, text in enumerate((typed, typed + "area"), start=2):
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(version, uri),
                    [types.TextDocumentContentChangeWholeDocument(text)],
                )
            )
            await _complete_at_end(client, uri, text)
            assert "def perimeter" not in fake.requests[-1]["inputs"]  # the context held
            await asyncio.sleep(0.3)  # typing on, faster than the pause
        assert len(_warm_ups(fake)) == before  # nothing refreshed while typing
        await asyncio.sleep(2.5)  # a pause
        refreshed = _warm_ups(fake)[before:]
    assert len(refreshed) == 1
    assert "def perimeter(points" in refreshed[0]  # the fresh context, computed now

"""Code actions, resolve and hover over LSP, from the real host with the packaged model."""

from __future__ import annotations

import ast
import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from quill.edits import Replacement, apply_replacements
from tests.conftest import StartClient, open_document
from tests.fake_tgi import FakeTgi, closed_port_url, serve_fake_tgi

URI = "file:///project/geometry.py"
SOURCE = '''import math


def area(radius: float) -> float:
    return math.pi * radius**2


def perimeter(radius):
    """The circumference."""
    return 2 * math.pi * radius
'''
AREA = types.Position(line=3, character=6)  # on "area" in its def line
RESOLVE = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
        )
    ),
    workspace=types.WorkspaceClientCapabilities(
        workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)
    ),
)


def _options(url: str, **extra: object) -> dict[str, object]:
    return {"serverUrl": url, "deadlineMs": 30_000, **extra}


def _params(position: types.Position, *diagnostics: types.Diagnostic) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(URI),
        range=types.Range(position, position),
        context=types.CodeActionContext(diagnostics=list(diagnostics)),
    )


def apply_edit(text: str, edit: types.WorkspaceEdit, version: int) -> str:
    """The text after a client applies ``edit`` (checking the version it names)."""
    assert edit.document_changes is not None
    [change] = edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.version == version
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: types.Position) -> int:
        return starts[position.line] + position.character

    replacements = [
        Replacement(offset(e.range.start), offset(e.range.end), e.new_text)
        for e in change.edits
        if isinstance(e, types.TextEdit)
    ]
    return apply_replacements(text, replacements)


async def explained_hover(
    client: LanguageClient, params: types.HoverParams, timeout_s: float = 60.0
) -> str:
    """The hover's text once the model's explanation is in it (after ``---``), or as it is at
    the timeout: a late explanation lands in the cache for the next hover, so ask again."""
    contents = ""
    for _ in range(int(timeout_s / 0.5)):
        hover = await client.text_document_hover_async(params)
        assert hover is not None
        assert isinstance(hover.contents, types.MarkupContent)
        contents = hover.contents.value
        if "---" in contents:
            break
        await asyncio.sleep(0.5)
    return contents


async def add_docstring_action(client: LanguageClient) -> types.CodeAction:
    """The listed "Add docstring" action on ``area`` of ``SOURCE`` (opened as ``URI``)."""
    action = (await _actions(client, AREA))["Quill: Add docstring"]
    assert isinstance(action, types.CodeAction)
    return action


async def _actions(client, position, *diagnostics):  # type: ignore[no-untyped-def]
    result = await client.text_document_code_action_async(_params(position, *diagnostics))
    assert result is not None
    # lsprotocol's client-side converter reads a CodeAction that carries a command as a
    # Command (Custom instruction…); real clients do not: compare by title.
    return {action.title: action for action in result}


async def test_actions_are_listed_at_once_without_the_model(start_client: StartClient) -> None:
    # A model server that is down: listing must not need it.
    client, initialized = await start_client(_options(closed_port_url()), RESOLVE)
    assert initialized.capabilities.code_action_provider is not None
    open_document(client, URI, SOURCE)
    await _actions(client, AREA)  # warm up (imports, first parse)
    started = time.perf_counter()
    actions = await _actions(client, AREA)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert "Quill: Add docstring" in actions
    assert "Quill: Write tests for area" in actions
    assert "Quill: Custom instruction…" in actions
    assert elapsed_ms < 200, elapsed_ms  # ≤ 20 ms in the server; the rest is the round trip
    # perimeter has a docstring already.
    assert "Quill: Add docstring" not in await _actions(client, types.Position(7, 6))
    selection = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(URI),
        range=types.Range(types.Position(3, 0), types.Position(5, 0)),
        context=types.CodeActionContext(diagnostics=[]),
    )
    titles = [a.title for a in await client.text_document_code_action_async(selection) or []]
    assert "Quill: Refactor selection (simplify)" in titles


@pytest.mark.model
async def test_add_docstring_resolves_to_a_minimal_edit_that_parses(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url), RESOLVE)
    open_document(client, URI, SOURCE)
    action = (await _actions(client, AREA))["Quill: Add docstring"]
    assert action.edit is None  # computed lazily
    started = time.perf_counter()
    resolved = await client.code_action_resolve_async(action)
    print(f"add docstring: {(time.perf_counter() - started) * 1000:.0f} ms")
    assert resolved.edit is not None
    new = apply_edit(SOURCE, resolved.edit, 1)
    ast.parse(new)
    assert new != SOURCE
    # Only lines were inserted inside area: everything else is untouched.
    assert [line for line in new.splitlines() if line not in SOURCE.splitlines()]
    assert new.startswith(SOURCE.split("    return math.pi")[0])
    assert new.endswith(SOURCE.split("    return math.pi * radius**2\n")[1])
    assert '"""' in new.split("def perimeter")[0]


@pytest.mark.model
async def test_fix_for_a_diagnostic_is_checked_or_refused(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url), RESOLVE)
    open_document(client, URI, SOURCE)
    line = types.Range(types.Position(7, 0), types.Position(7, 20))
    diagnostic = types.Diagnostic(line, "Missing type annotations for radius", source="mypy")
    actions = await _actions(client, types.Position(7, 0), diagnostic)
    title = "Quill: Fix 'Missing type annotations for radius'"
    assert actions[title].kind == types.CodeActionKind.QuickFix
    started = time.perf_counter()
    outcome: types.CodeAction | JsonRpcException
    try:
        outcome = await client.code_action_resolve_async(actions[title])
    except JsonRpcException as error:
        outcome = error
    print(f"fix: {(time.perf_counter() - started) * 1000:.0f} ms")
    if isinstance(outcome, JsonRpcException):
        # A small base model may give nothing usable: refused, never a broken edit.
        assert "Quill:" in outcome.message
        return
    resolved = outcome
    assert resolved.edit is not None
    new = apply_edit(SOURCE, resolved.edit, 1)
    ast.parse(new)
    assert new.split("def perimeter")[0] == SOURCE.split("def perimeter")[0]


async def test_resolving_against_a_changed_document_fails_with_content_modified(
    start_client: StartClient,
) -> None:
    client, _ = await start_client(_options(closed_port_url()), RESOLVE)
    open_document(client, URI, SOURCE)
    action = (await _actions(client, AREA))["Quill: Add docstring"]
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=URI),
            [types.TextDocumentContentChangeWholeDocument("x = 1\n" + SOURCE)],
        )
    )
    with pytest.raises(JsonRpcException) as raised:
        await client.code_action_resolve_async(action)
    assert raised.value.code == types.LSPErrorCodes.ContentModified


@pytest.mark.parametrize("behaviour", ["slow", "down"])
async def test_hover_answers_within_its_deadline_when_the_model_is_slow_or_down(
    start_client: StartClient, behaviour: str
) -> None:
    fake = FakeTgi("stall")
    with serve_fake_tgi(fake) as slow_url:
        url = slow_url if behaviour == "slow" else closed_port_url()
        client, initialized = await start_client(
            _options(url, hoverExplain=True, hoverDeadlineMs=800)
        )
        assert initialized.capabilities.hover_provider
        open_document(client, URI, SOURCE + "\nprint(perimeter(2.0))\n")
        started = time.perf_counter()
        hover = await client.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(URI), types.Position(11, 8))
        )
        elapsed = time.perf_counter() - started
    assert elapsed < 1.5, elapsed
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    assert "def perimeter(radius):" in hover.contents.value
    assert "The circumference." in hover.contents.value
    assert "geometry.py:8" in hover.contents.value


@pytest.mark.model
async def test_hover_explanation_and_explain_command(
    start_client: StartClient, model_host_url: str
) -> None:
    client, _ = await start_client(_options(model_host_url, hoverExplain=True))
    open_document(client, URI, SOURCE + "\nprint(perimeter(2.0))\n")
    params = types.HoverParams(types.TextDocumentIdentifier(URI), types.Position(11, 8))
    started = time.perf_counter()
    await client.text_document_hover_async(params)
    first = time.perf_counter() - started
    hover = None
    for _ in range(30):  # a late explanation lands in the cache; then hovers are instant
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        hover = await client.text_document_hover_async(params)
        second = time.perf_counter() - started
        assert hover is not None
        assert isinstance(hover.contents, types.MarkupContent)
        if "---" in hover.contents.value:
            break
    print(f"hover: first {first * 1000:.0f} ms, with cached explanation {second * 1000:.0f} ms")
    assert first < 1.6
    assert second < 0.5
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    assert "---" in hover.contents.value  # the explanation is there now
    started = time.perf_counter()
    markdown = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            "quill.explain",
            [{"uri": URI, "position": {"line": 4, "character": 4}, "display": "client"}],
        )
    )
    print(f"explain: {(time.perf_counter() - started) * 1000:.0f} ms")
    assert isinstance(markdown, str)
    assert markdown.startswith("### Explanation of `area`")


@pytest.mark.model
async def test_write_tests_through_the_command_for_clients_without_resolve(
    start_client: StartClient, model_host_url: str, tmp_path: Path
) -> None:
    capabilities = types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True),
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=True, resource_operations=[types.ResourceOperationKind.Create]
            )
        ),
    )
    client, _ = await start_client(_options(model_host_url), capabilities)
    applied: list[types.WorkspaceEdit] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        applied.append(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    uri = (tmp_path / "geometry.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, SOURCE))
    )
    listed = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri), types.Range(AREA, AREA), types.CodeActionContext([])
        )
    )
    [action] = [a for a in listed or [] if a.title == "Quill: Write tests for area"]
    # lsprotocol's client-side converter reads a CodeAction that carries a command as a
    # Command whose ``command`` is the real one's repr (real clients do not): undo that.
    assert isinstance(action, types.Command)
    command = types.Command(**ast.literal_eval(action.command))
    assert command.command == "quill.applyAction"  # no resolve support: a command instead
    started = time.perf_counter()
    ok = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command.command, command.arguments)
    )
    print(f"write tests: {(time.perf_counter() - started) * 1000:.0f} ms")
    assert ok is True
    [edit] = applied
    assert edit.document_changes is not None
    create, change = edit.document_changes
    assert isinstance(create, types.CreateFile)
    assert create.uri == (tmp_path / "test_geometry.py").as_uri()
    assert isinstance(change, types.TextDocumentEdit)
    [text_edit] = change.edits
    assert isinstance(text_edit, types.TextEdit)
    ast.parse(text_edit.new_text)
    assert "from geometry import area" in text_edit.new_text
    assert "def test_area(" in text_edit.new_text
    assert client.progress_reports  # $/progress begin … end around the model call

"""What real clients send at ``initialize``, replayed against the real ``quill serve``.

Each editor fills a different part of the capability tree, and the server's choices
(completion items or not, lazy code-action edits, the position encoding, a file watcher)
hang on a few of those answers. Synthetic capabilities in other tests check each rule
alone; these fixtures check that the rules pick the right features for the clients people
actually use, including the quirks of each (Neovim watching files only on macOS and
Windows, LSP4IJ sending inline completion requests without declaring the capability).

The expectations are computed from the raw JSON here, not through ``ClientFeatures``:
the test must not share the code it checks. No model is needed: ``serverUrl`` points at a
port nobody listens on, so no model host starts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from lsprotocol.converters import get_converter
from pytest_lsp import LanguageClient

from tests.conftest import StartClient, indexed, open_document

CLIENTS = Path(__file__).parents[1] / "editors" / "clients"
# A glob, so fixtures recorded later (VS Code, Neovim 0.11) are checked as they land.
FIXTURES = sorted(CLIENTS.glob("*.json"))
# One client that declares textDocument.inlineCompletion, and one that does not, for the
# completionItems setting (which must win over what the client declares).
WITH_INLINE = CLIENTS / "neovim-0.12.json"
WITHOUT_INLINE = CLIENTS / "helix.json"

NO_MODEL: dict[str, Any] = {"serverUrl": "http://127.0.0.1:9"}  # nothing listens there
ENCODINGS = ("utf-8", "utf-16", "utf-32")  # those pygls can serve, in no order
PLACEHOLDER_URI = "file:///workspace"
# Generous: the watcher is registered once the server has started and the scan begun.
WATCH_TIMEOUT_S = 30.0
# Without $/progress there is no sign that the server has decided against a watcher; this
# is how long it gets to send one it should not.
SETTLE_S = 2.0
POLL_S = 0.05

_converter = get_converter()


@dataclass(frozen=True)
class Expected:
    """What the server should pick for a client, read straight from its JSON."""

    inline_completion: bool
    code_action_resolve_edit: bool
    position_encoding: str
    watched_files_registration: bool
    work_done_progress: bool


def _ids(path: Path) -> str:
    return path.stem


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict), path
    return data


def _initialize_params(data: dict[str, Any]) -> dict[str, Any]:
    """The InitializeParams proper: keys starting with "_" are annotations of the fixture."""
    return {key: value for key, value in data.items() if not key.startswith("_")}


def _capabilities(data: dict[str, Any]) -> types.ClientCapabilities:
    capabilities = _converter.structure(data["capabilities"], types.ClientCapabilities)
    assert isinstance(capabilities, types.ClientCapabilities)
    return capabilities


def _get(tree: Any, *path: str) -> Any:
    """``tree[path[0]][path[1]]…``, or None where any step is missing (as JSON omits it)."""
    for key in path:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(key)
    return tree


def _expected(capabilities: dict[str, Any]) -> Expected:
    """The LSP rules the server implements, applied to raw capability JSON."""
    offered = _get(capabilities, "general", "positionEncodings") or []
    encoding = next((kind for kind in offered if kind in ENCODINGS), "utf-16")
    return Expected(
        inline_completion=_get(capabilities, "textDocument", "inlineCompletion") is not None,
        code_action_resolve_edit="edit"
        in (_get(capabilities, "textDocument", "codeAction", "resolveSupport", "properties") or []),
        position_encoding=encoding,
        watched_files_registration=bool(
            _get(capabilities, "workspace", "didChangeWatchedFiles", "dynamicRegistration")
        ),
        work_done_progress=bool(_get(capabilities, "window", "workDoneProgress")),
    )


SOURCE = "def answer() -> int:\n    return 42\n"
IN_ANSWER = types.Position(line=0, character=5)  # on "answer": a docstring can be added
DOCSTRING = "Quill: Add docstring"  # an action whose edit the model writes


def _workspace(root: Path) -> Path:
    """A folder with one source file: the index (and with it the watcher) starts only for
    a workspace it can scan."""
    folder = root / "project"
    folder.mkdir()
    (folder / "main.py").write_text(SOURCE)
    return folder


async def _runs_a_command(client: LanguageClient, uri: str, title: str) -> bool:
    """Whether the listed action ``title`` is carried out through a command (edit sent
    with workspace/applyEdit) rather than resolved lazily with codeAction/resolve. Listing
    needs no model."""
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=types.Range(IN_ANSWER, IN_ANSWER),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    [action] = [item for item in result or [] if item.title == title]
    # lsprotocol's client-side converter reads a CodeAction that has a command as a Command.
    return isinstance(action, types.Command) or action.command is not None


def _record_registrations(client: LanguageClient) -> list[types.Registration]:
    """Collect ``client/registerCapability`` requests, answering them as a client that
    accepts. Call before the first ``await`` after ``initialize``: the server registers its
    watcher after ``initialized``, and until the test yields to the event loop no message
    from the server is read, so none can slip past."""
    seen: list[types.Registration] = []

    def register(params: types.RegistrationParams) -> None:
        seen.extend(params.registrations)

    client.feature(types.CLIENT_REGISTER_CAPABILITY)(register)
    return seen


async def _until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``condition`` until it holds or ``timeout_s`` has passed. What is polled is
    filled in by client handlers (pytest-lsp's own, for $/progress): there is no event to
    wait on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        if condition():
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_S)


async def _watcher_decided(
    client: LanguageClient, registrations: list[types.Registration], expected: Expected
) -> None:
    """Wait, bounded, until the server has had its chance to register a file watcher.

    It asks for the watcher before it creates the indexing progress token, so for clients
    with work-done progress the end of indexing means the decision is made; for others a
    fixed settling time has to do."""
    if expected.watched_files_registration:
        await _until(lambda: bool(registrations), WATCH_TIMEOUT_S)
    elif expected.work_done_progress:
        await indexed(client, timeout_s=WATCH_TIMEOUT_S)
    else:
        await asyncio.sleep(SETTLE_S)


def _encoding(kind: types.PositionEncodingKind | str | None) -> str | None:
    return kind.value if isinstance(kind, types.PositionEncodingKind) else kind


@pytest.mark.parametrize("fixture", FIXTURES, ids=_ids)
def test_fixture_is_usable(fixture: Path) -> None:
    """A fixture says where it comes from, carries no machine-specific values, and
    survives lsprotocol: if the converter dropped a key the server decides on, the replay
    would check a different client than the one recorded."""
    data = _load(fixture)
    source = data.get("_source")
    assert isinstance(source, str), "a fixture says where it comes from"
    assert source.strip()
    capabilities = data.get("capabilities")
    assert isinstance(capabilities, dict)
    # Every real client declares these; their absence would mean a truncated fixture.
    assert isinstance(capabilities.get("textDocument"), dict)
    assert isinstance(capabilities.get("workspace"), dict)
    assert isinstance(_get(capabilities, "textDocument", "codeAction"), dict)
    encodings = _get(capabilities, "general", "positionEncodings")
    assert encodings is None or all(isinstance(kind, str) for kind in encodings)

    assert data.get("processId") is None, "placeholder: no pid of the recording machine"
    assert data.get("rootUri") in (None, PLACEHOLDER_URI)
    for folder in data.get("workspaceFolders") or []:
        assert folder["uri"] == PLACEHOLDER_URI

    params = _converter.structure(_initialize_params(data), types.InitializeParams)
    assert isinstance(params, types.InitializeParams)
    replayed = _converter.unstructure(params.capabilities)
    assert _expected(replayed) == _expected(capabilities)


@pytest.mark.parametrize("fixture", FIXTURES, ids=_ids)
async def test_server_picks_features_for_client(
    start_client: StartClient, tmp_path: Path, fixture: Path
) -> None:
    """The features offered at ``initialize``, and the file watcher registered after it,
    are the ones this client's capabilities call for."""
    data = _load(fixture)
    expected = _expected(data["capabilities"])
    client, result = await start_client(
        NO_MODEL, _capabilities(data), workspace=_workspace(tmp_path)
    )
    registrations = _record_registrations(client)  # before any await: see its docstring
    capabilities = result.capabilities

    assert capabilities.inline_completion_provider is not None, "always offered"
    # Ghost text and a completion item for the same suggestion would make users pick twice.
    assert (capabilities.completion_provider is not None) is not expected.inline_completion
    code_actions = capabilities.code_action_provider
    assert isinstance(code_actions, types.CodeActionOptions)
    assert code_actions.resolve_provider
    assert _encoding(capabilities.position_encoding) == expected.position_encoding

    await _watcher_decided(client, registrations, expected)
    watchers = [
        registration
        for registration in registrations
        if registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    ]
    assert bool(watchers) is expected.watched_files_registration, registrations
    for watcher in watchers:
        options = _converter.structure(
            watcher.register_options, types.DidChangeWatchedFilesRegistrationOptions
        )
        assert options.watchers, "a registration watches something"

    # The edit is computed when the action is chosen only where the client can resolve it.
    uri = (tmp_path / "project" / "main.py").as_uri()
    open_document(client, uri, SOURCE)
    assert await _runs_a_command(client, uri, DOCSTRING) is not expected.code_action_resolve_edit


@pytest.mark.parametrize("setting", ["on", "off"])
@pytest.mark.parametrize("fixture", [WITH_INLINE, WITHOUT_INLINE], ids=_ids)
async def test_completion_items_setting_wins(
    start_client: StartClient, fixture: Path, setting: str
) -> None:
    """``completionItems`` "on"/"off" overrides what the client declares: users of a
    client whose inline completion is off (or missing) need a way out of "auto"."""
    data = _load(fixture)
    declares_inline = _expected(data["capabilities"]).inline_completion
    assert declares_inline is (fixture == WITH_INLINE), "the pair must cover both cases"

    _, result = await start_client({**NO_MODEL, "completionItems": setting}, _capabilities(data))

    assert (result.capabilities.completion_provider is not None) is (setting == "on")
    assert result.capabilities.inline_completion_provider is not None

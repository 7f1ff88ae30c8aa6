"""The VS Code extension: `npm ci`, compiled with tsc, its own unit tests (node's test
runner, no VS Code binary), and packaged as a .vsix with @vscode/vsce."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

EXTENSION = Path(__file__).parents[2] / "editors" / "vscode"


def _npm(*args: str, timeout_s: float = 600) -> str:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm not found: the VS Code extension needs Node.js 20 or later")
    run = subprocess.run(
        [npm, *args], cwd=EXTENSION, capture_output=True, text=True, timeout=timeout_s
    )
    assert run.returncode == 0, f"npm {' '.join(args)}\n{run.stdout}\n{run.stderr}"
    return run.stdout


@pytest.fixture(scope="module")
def installed() -> None:
    _npm("ci", "--no-audit", "--no-fund")


def test_compiles_and_its_unit_tests_pass(installed: None) -> None:
    output = _npm("test")
    assert "# fail 0" in output, output
    assert "# pass " in output


def test_packages_a_vsix(installed: None, tmp_path: Path) -> None:
    vsix = tmp_path / "quill.vsix"
    _npm("run", "package", "--", "--out", str(vsix))
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    assert "extension/out/src/extension.js" in names
    assert "extension/out/src/logic.js" in names
    assert "extension/node_modules/vscode-languageclient/package.json" in names
    assert not any(name.startswith("extension/src/") for name in names)
    assert manifest["main"] == "./out/src/extension.js"

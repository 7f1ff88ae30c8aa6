"""The process contract: the ready file, the idle timeout, a clean exit on SIGTERM."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import start_host, stop_host


def test_ready_file_and_idle_exit(tmp_path: Path) -> None:
    ready = tmp_path / "state" / "host.json"
    host = start_host(["--ready-file", str(ready), "--idle-timeout", "1"], tmp_path)
    try:
        content = json.loads(ready.read_text())
        assert content == {"url": host.url, "pid": host.process.pid, "model_id": host.model_id}
        assert host.process.wait(timeout=15) == 0
        assert not ready.exists()
    finally:
        if host.process.poll() is None:
            stop_host(host)


def test_sigterm_exits_cleanly(tmp_path: Path) -> None:
    host = start_host([], tmp_path)
    assert stop_host(host) == 0
    assert "Traceback" not in host.stderr_path.read_text()


def test_unknown_model_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "quill_host", "--model", "no-such-model"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2] / "model_host",
        check=False,
    )
    assert result.returncode == 2
    assert ".gguf" in result.stderr
    assert result.stdout == ""


def test_quill_host_lists_the_model_names() -> None:
    """`quill host --model <unknown>` says which names exist instead of failing to load."""
    result = subprocess.run(
        [sys.executable, "-m", "quill", "host", "--model", "nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "'nonsense'" in result.stderr
    for name in ("default", "gemma3-270m", "qwen2.5-coder-1.5b"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""

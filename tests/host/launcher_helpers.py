"""Helpers for the TGI launcher tests: a controlled environment and stand-in executables."""

from __future__ import annotations

import os
import sys
from pathlib import Path

MODEL = "IQuestLab/IQuest-Coder-V1-40B-Instruct"


def host_env(tmp_path: Path, bin_dir: Path, **extra: str) -> dict[str, str]:
    """os.environ with PATH = `bin_dir` only, a fresh HOME and no Hugging Face settings."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("HF_HOME", "HF_HUB_CACHE", "HF_TOKEN")
    }
    env.update(PATH=str(bin_dir), HOME=str(tmp_path / "home"), **extra)
    return env


def write_executable(path: Path, body: str) -> Path:
    """A Python script run by this interpreter, executable by name from PATH."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


def alive(pid: int) -> bool:
    """Whether a process of that id still exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

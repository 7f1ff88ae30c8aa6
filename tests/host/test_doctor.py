"""`quill doctor` on this machine, with the real packaged models and the real host.

What is checked is what the doctor reports and that it really ran each model (through the
shared host it starts), not how fast: the figures belong to this machine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from quill.doctor import model_report
from quill.doctor.machine import inspect_machine
from quill.doctor.timing import RetypedEdit
from quill_host.catalog import GEMMA3_270M, QWEN25_CODER_1_5B
from quill_host.hardware import physical_cores


@pytest.fixture
def cache_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for registry in tmp_path.glob("host*.json"):  # hosts outlive their callers by design
        os.kill(json.loads(registry.read_text())["pid"], signal.SIGTERM)


def _doctor(cache_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QUILL_CACHE_DIR=str(cache_dir), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "quill", "doctor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_each_model_is_timed_through_its_own_host_and_one_is_advised(cache_dir: Path) -> None:
    done = _doctor(cache_dir, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["machine"]["physical_cores"] == physical_cores()
    assert report["machine"]["offload"] == "cpu"
    gemma, qwen = report["models"]
    for entry, model in ((gemma, GEMMA3_270M), (qwen, QWEN25_CODER_1_5B)):
        assert entry["status"] == "timed", entry["problem"]
        assert entry["model_id"] == model.model_id  # the host of that model answered
        assert entry["first_ms"] > 0
        assert len(entry["line_start_ms"]) == 3
    assert gemma["prompt_format"] == "prefix"
    assert qwen["prompt_format"] != "prefix"  # the code model gets fill-in-the-middle
    assert len(list(cache_dir.glob("host*.json"))) == 2  # a shared host for each model
    assert report["advice"]["model"] in ("gemma3-270m", "qwen2.5-coder-1.5b")
    assert report["advice"]["reasons"][0].startswith("use " + report["advice"]["model"])


def test_the_text_report_names_each_model_and_the_advice(cache_dir: Path) -> None:
    done = _doctor(cache_dir, "--model", "default")
    assert done.returncode == 0, done.stderr
    assert "timing gemma3-270m" in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Quill doctor"
    [row] = [line for line in lines if line.strip().startswith("gemma3-270m")]
    assert row.split()[-1] == "prefix"
    assert "Advice" in lines
    assert lines[lines.index("Advice") + 1].startswith("  - use gemma3-270m, the default")


def test_a_catalog_model_that_is_not_installed_is_reported_with_its_package() -> None:
    part = dataclasses.replace(
        QWEN25_CODER_1_5B.parts[0], distribution="no-such-part", package="no_such_part"
    )
    model = dataclasses.replace(QWEN25_CODER_1_5B, parts=(part, *QWEN25_CODER_1_5B.parts[1:]))
    report = asyncio.run(model_report(model, inspect_machine(), RetypedEdit.standard(), timed=True))
    assert report.status == "not installed"
    assert "no-such-part" in report.problem
    assert report.install_hint == "pip install 'quill-lsp[coder]'"
    assert report.timing is None


def test_an_unknown_model_is_a_usage_error(cache_dir: Path) -> None:
    done = _doctor(cache_dir, "--model", "gpt-5", "--no-timing")
    assert done.returncode == 2
    assert "no model 'gpt-5' in the catalog" in done.stderr


def test_without_timing_the_install_is_checked_and_no_model_is_run(cache_dir: Path) -> None:
    done = _doctor(cache_dir, "--json", "--no-timing", "--model", "default")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [gemma] = report["models"]
    assert gemma["status"] == "not timed"
    assert (cache_dir / "models" / GEMMA3_270M.file_name).stat().st_size == GEMMA3_270M.size
    assert report["advice"]["model"] is None
    assert not list(cache_dir.glob("host*.json"))  # no host was started

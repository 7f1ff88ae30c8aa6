"""`quill host`'s command line, in process: launchers are found by table, and flags reach the
engine's options, without loading a model."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from quill_host import main as host_main
from quill_host.engines import EngineOptions, engine_names
from quill_host.engines.base import Engine
from quill_host.errors import ModelNotFound
from quill_host.launcher.registry import LAUNCHERS, Launcher


def _no_engine(name: str, options: EngineOptions) -> Engine:
    raise AssertionError(f"a launcher must not load an engine ({name})")


def test_an_engine_name_in_the_launcher_table_runs_its_launcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[argparse.Namespace] = []

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--stand-in-option")

    def run(args: argparse.Namespace) -> int:
        seen.append(args)
        return 7

    monkeypatch.setattr(host_main, "LAUNCHERS", {"stand-in": Launcher(add_arguments, run)})
    monkeypatch.setattr(host_main, "create_engine", _no_engine)
    assert host_main.main(["--engine", "stand-in", "--stand-in-option", "x"]) == 7
    assert [args.stand_in_option for args in seen] == ["x"]


def test_tgi_is_a_launcher_and_no_launcher_shadows_an_engine() -> None:
    assert "tgi" in LAUNCHERS
    assert not set(LAUNCHERS) & set(engine_names())


def test_threads_reach_the_engine_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[EngineOptions] = []

    def create_engine(name: str, options: EngineOptions) -> Engine:
        built.append(options)
        raise ModelNotFound("stand-in: nothing is loaded")

    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # main sets it; restored afterwards
    monkeypatch.setattr(host_main, "create_engine", create_engine)
    assert host_main.main(["--model", str(weights)]) == 2
    assert host_main.main(["--model", str(weights), "--threads", "3"]) == 2
    assert [options.n_threads for options in built] == [None, 3]

"""`quill doctor`'s advice, from timings given here: the rules, apart from the timing."""

from __future__ import annotations

import dataclasses

import pytest

from quill.doctor.advice import KEEPS_UP_MS, ModelReport, advise
from quill.doctor.machine import Machine
from quill.doctor.timing import Timing

GIB = 1 << 30
TWO_CORES = Machine(2, 2, 24 * GIB, 20 * GIB, "0.3.36", "cpu", nvidia_driver=False)


def _timed(name: str, size: int, median_ms: float) -> ModelReport:
    timing = Timing(name, 1.0, 8 * median_ms, (median_ms, median_ms, median_ms), "fim")
    return ModelReport(name, "", size, f"pip install 'quill-lsp[{name}]'", "timed", "", timing)


def _missing(name: str, size: int) -> ModelReport:
    return ModelReport(name, "", size, "pip install 'quill-lsp[coder]'", "not installed", "no")


SMALL = _timed("small", GIB // 4, 300)


def test_the_code_model_is_advised_where_it_keeps_up() -> None:
    advice = advise(TWO_CORES, [SMALL, _timed("coder", GIB, KEEPS_UP_MS - 100)], "small")
    assert advice.model == "coder"
    assert '"hostModel": "coder"' in advice.reasons[0]


def test_a_code_model_too_slow_to_keep_up_gives_way_to_the_small_one() -> None:
    advice = advise(TWO_CORES, [SMALL, _timed("coder", GIB, KEEPS_UP_MS + 500)], "small")
    assert advice.model == "small"
    assert advice.reasons[0].startswith("use small, the default")
    assert any("too slow to keep up with typing on 2 cores" in r for r in advice.reasons)


def test_a_model_that_is_not_installed_is_named_with_its_install_command() -> None:
    advice = advise(TWO_CORES, [SMALL, _missing("coder", GIB)], "small")
    assert advice.model == "small"
    [hint] = [reason for reason in advice.reasons if "coder" in reason]
    assert "pip install 'quill-lsp[coder]'" in hint
    assert "quill doctor again" in hint
    assert "memory" not in hint


def test_a_model_too_big_for_the_free_memory_says_so() -> None:
    tight = dataclasses.replace(TWO_CORES, available_bytes=GIB)
    advice = advise(tight, [SMALL, _missing("coder", GIB)], "small")
    assert any("needs more memory than the 1.0 GiB free" in r for r in advice.reasons)


def test_when_nothing_keeps_up_the_fastest_is_advised_without_the_workspace_context() -> None:
    slow = [_timed("small", GIB // 4, 2500), _timed("coder", GIB, 9000)]
    advice = advise(TWO_CORES, slow, "small")
    assert advice.model == "small"
    assert "the fastest here" in advice.reasons[0]
    assert any('"workspaceIndex": false' in r for r in advice.reasons)


def test_a_fast_model_keeps_the_workspace_context() -> None:
    advice = advise(TWO_CORES, [SMALL], "small")
    assert not any("workspaceIndex" in reason for reason in advice.reasons)


def test_no_model_that_runs_means_no_advice_but_the_reasons() -> None:
    broken = dataclasses.replace(_missing("small", GIB // 4), status="broken", problem="bad part 2")
    advice = advise(TWO_CORES, [broken], "small")
    assert advice.model is None
    assert "small: bad part 2" in advice.reasons[0]


@pytest.mark.parametrize(("offload", "advised"), [("cpu", True), ("cuda", False)])
def test_a_gpu_that_llama_cpp_cannot_use_is_pointed_out(offload: str, advised: bool) -> None:
    machine = dataclasses.replace(TWO_CORES, nvidia_driver=True, offload=offload)
    advice = advise(machine, [SMALL], "small")
    assert any("-DGGML_CUDA=on" in reason for reason in advice.reasons) is advised

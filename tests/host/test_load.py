"""A short run of the load benchmark: the host survives concurrency and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "host_load.py"


def test_concurrent_clients_and_malformed_requests_leave_the_host_serving() -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--clients", "24", "--malformed", "200", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    outcomes = report["client_outcomes"]
    assert set(outcomes) <= {"200", "hung up", "429 overloaded"}
    assert outcomes.get("200", 0) + outcomes.get("hung up", 0) >= 1
    statuses = report["malformed_statuses"]
    assert not [status for status in statuses if status.startswith("5")]
    # Every refusal explains itself; the only plain 200s are valid /tokenize requests.
    assert [s for s in statuses if "no error body" in s] in ([], ["200 (no error body)"])
    assert report["alive_after"]
    assert report["queue_after"] == "0.0"
    assert report["rss_after_mb"] < report["rss_before_mb"] * 1.1

"""The host under load and bad input: concurrent clients (some hanging up mid-stream) and
malformed requests. It must keep serving: answers or 429, clear 4xx errors, no crash, no
leaked slot, memory back where it was.

    python bench/host_load.py [--clients 64] [--malformed 1000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from typing import Any

import httpx

from running_host import RunningHost, running_host

PROMPT = "def fibonacci(n):\n"


def malformed_requests(count: int, seed: int = 0) -> list[tuple[str, str, bytes]]:
    """(method, path, body) triples that a careless or hostile client might send."""
    rng = random.Random(seed)
    bodies: list[Any] = [
        {"parameters": {"max_new_tokens": 5}},  # no inputs
        {"inputs": 42},
        {"inputs": "x", "parameters": {"max_new_tokens": -1}},
        {"inputs": "x", "parameters": {"max_new_tokens": 10**9}},
        {"inputs": "x", "parameters": {"temperature": 0}},
        {"inputs": "x", "parameters": {"top_p": 7}},
        {"inputs": "x", "parameters": {"stop": ["", "a", "b", "c", "d"]}},
        {"inputs": "x", "parameters": "not an object"},
        {"inputs": "x" * 200_000, "parameters": {"max_new_tokens": 5}},
        [1, 2, 3],
        None,
    ]
    raw = [b"{", b"\xff\xfe\x00", b"", b"null", b'{"inputs": "x", "parameters": {', b"[" * 10_000]
    routes = ["/generate", "/generate_stream", "/", "/v1/completions", "/tokenize"]
    requests = []
    for _ in range(count):
        choice = rng.random()
        if choice < 0.45:
            body = json.dumps(rng.choice(bodies)).encode()
        elif choice < 0.9:
            body = rng.choice(raw)
        else:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        method, path = "POST", rng.choice(routes)
        if rng.random() < 0.05:
            method, path = rng.choice([("GET", "/generate"), ("POST", "/nope"), ("PUT", "/info")])
        requests.append((method, path, body))
    return requests


async def one_client(client: httpx.AsyncClient, index: int) -> str:
    """A completion; every fourth client hangs up after the first event."""
    body = {"inputs": PROMPT, "parameters": {"max_new_tokens": 8}}
    async with client.stream("POST", "/generate_stream", json=body) as response:
        if response.status_code != 200:
            await response.aread()
            error = response.json().get("error_type", "?")
            return f"{response.status_code} {error}"
        async for line in response.aiter_lines():
            if index % 4 == 0 and line.startswith("data:"):
                return "hung up"
        return "200"


async def run(host: RunningHost, clients: int, malformed: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients + 8)
    async with httpx.AsyncClient(base_url=host.url, timeout=300, limits=limits) as client:
        body = {"inputs": PROMPT, "parameters": {"max_new_tokens": 8}}
        await client.post("/generate", json=body)  # warm: the model's buffers exist
        rss_before = host.memory_mb()

        started = time.perf_counter()
        outcomes = await asyncio.gather(*(one_client(client, i) for i in range(clients)))
        concurrent_s = time.perf_counter() - started

        bad: Counter[str] = Counter()
        for method, path, payload in malformed_requests(malformed):
            response = await client.request(method, path, content=payload)
            shaped = _has_error_body(response)
            bad[f"{response.status_code}{'' if shaped else ' (no error body)'}"] += 1

        after = await client.post("/generate", json=body)
        metrics = (await client.get("/metrics")).text
        waiting = [line for line in metrics.splitlines() if line.startswith("quill_host_queue")]
        return {
            "clients": clients,
            "client_outcomes": dict(Counter(outcomes)),
            "concurrent_seconds": round(concurrent_s, 1),
            "malformed": malformed,
            "malformed_statuses": dict(bad),
            "alive_after": host.process.poll() is None and after.status_code == 200,
            "queue_after": waiting[0].split()[-1] if waiting else "?",
            "rss_before_mb": round(rss_before, 1),
            "rss_after_mb": round(host.memory_mb(), 1),
        }


def _has_error_body(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "error" in body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--malformed", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with running_host() as host:
        report = asyncio.run(run(host, args.clients, args.malformed))
    if args.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        print(f"| {key} | {value} |")


if __name__ == "__main__":
    main()

"""Prometheus metrics for `/metrics`: requests, tokens, and what the KV cache saved.

Each host owns its registry (no module-level collectors), so two hosts in one process, as
in tests, do not share counts. The number to watch is the reused share of prompt tokens: it
says whether clients lay their prompts out so that the cache can serve them.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quill_host.engines.base import Finish
from quill_host.scheduler import Scheduler


class HostMetrics:
    def __init__(self, scheduler: Scheduler) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "quill_host_requests",
            "HTTP requests answered, by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.prompt_tokens = Counter(
            "quill_host_prompt_tokens",
            "Prompt tokens of finished generations: computed, or reused from the KV cache",
            ["source"],
            registry=self.registry,
        )
        self.generated_tokens = Counter(
            "quill_host_generated_tokens", "Tokens generated", registry=self.registry
        )
        self.request_seconds = Histogram(
            "quill_host_request_duration_seconds",
            "Time from request to the end of its answer",
            ["route"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        waiting = Gauge(
            "quill_host_queue_waiting", "Requests waiting for the engine", registry=self.registry
        )
        waiting.set_function(lambda: scheduler.waiting)

    def observe_finish(self, finish: Finish, generated_tokens: int) -> None:
        self.prompt_tokens.labels("reused").inc(finish.reused_prompt_tokens)
        self.prompt_tokens.labels("computed").inc(finish.input_length - finish.reused_prompt_tokens)
        self.generated_tokens.inc(generated_tokens)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetricsMiddleware:
    """Counts every HTTP answer by route and status, and times it (ASGI, so streams are
    timed to their last byte)."""

    def __init__(self, app: ASGIApp, metrics: HostMetrics, routes: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes  # other paths count as "other": a scan must not add series

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = scope["path"] if scope["path"] in self.routes else "other"
        status = 500
        timer = self.metrics.request_seconds.labels(route).time()

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with timer:
            try:
                await self.app(scope, receive, send_and_record)
            finally:
                self.metrics.requests.labels(route, str(status)).inc()

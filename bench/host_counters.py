"""The model host's own counters (its ``/metrics``), read before and after a stretch of work.

What they can and cannot tell: the host counts prompt tokens (computed, or reused from its
KV cache) only for generations that finished. A generation the client abandoned, during
its prompt or its output, adds nothing there, although it may have computed part of its
prompt, which then stays in the cache for the next request to reuse. So the requests on
the generation routes, those closed by the client before their first token (status 499:
the host was still on the prompt, or had not started), and the seconds the host spent on
them are read too: abandoned work shows there.
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Counts = dict[str, float]
GENERATION_ROUTES = frozenset(
    {"/", "/generate", "/generate_stream", "/v1/completions", "/v1/chat/completions"}
)
CLIENT_CLOSED = "499"
KEYS = ("reused", "computed", "generations", "closed early", "generation seconds")


def host_counters(url: str) -> Counts:
    """The host's counters now: prompt tokens of finished generations by source, and the
    requests on the generation routes, those closed early, and their seconds."""
    counts = dict.fromkeys(KEYS, 0.0)
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "quill_host_prompt_tokens_total":
                counts[labels["source"]] += sample.value
            elif labels.get("route") not in GENERATION_ROUTES:
                continue
            elif sample.name == "quill_host_requests_total":
                counts["generations"] += sample.value
                if labels["status"] == CLIENT_CLOSED:
                    counts["closed early"] += sample.value
            elif sample.name == "quill_host_request_duration_seconds_sum":
                counts["generation seconds"] += sample.value
    return counts


def difference(after: Counts, before: Counts) -> Counts:
    return {key: after[key] - before.get(key, 0.0) for key in after}


def total(counts: list[Counts]) -> Counts:
    return {key: sum(count.get(key, 0.0) for count in counts) for key in KEYS}


def reuse_cell(counts: Counts) -> str:
    """The reused share of the prompt tokens of finished generations, and of how many."""
    tokens = counts["reused"] + counts["computed"]
    share = 100 * counts["reused"] / tokens if tokens else 0.0
    return f"{share:.1f}% of {tokens:,.0f}"


def generations_cell(counts: Counts) -> str:
    return (
        f"{counts['generations']:.0f} requests ({counts['closed early']:.0f} closed by the client "
        f"before their first token), {counts['generation seconds']:.1f} s"
    )

"""What the real host says it was asked (its Prometheus ``/metrics``): how plumbing tests
prove a model call happened, or did not, without depending on what the model wrote."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

GENERATION_ROUTES = frozenset(
    {"/", "/generate", "/generate_stream", "/v1/completions", "/v1/chat/completions"}
)
"""The host's routes that ask the model (the others tokenize, describe or count)."""
COUNTED_WITHIN_S = 0.3
"""Ample time for the host to count a request, which it does once the answer has ended."""


async def generations_asked(url: str) -> float:
    """Generation requests the host has answered so far, from its Prometheus counter."""
    return sum(sample.value for sample in await _generation_requests(url))


async def tokens_of_finished_generations(url: str) -> float:
    """Tokens the host generated in generations that ran to their end: a generation the
    client stopped adds nothing here (the host counts tokens when an answer finishes)."""
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/metrics")
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "quill_host_generated_tokens_total"
    )


async def prompt_tokens(url: str) -> dict[str, float]:
    """Prompt tokens of finished generations by where they came from: ``computed`` by the
    model, or ``reused`` from the KV cache."""
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/metrics")
    found = {"computed": 0.0, "reused": 0.0}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "quill_host_prompt_tokens_total":
                found[sample.labels["source"]] += sample.value
    return found


async def generations_after_counting(url: str) -> float:
    """``generations_asked`` once a request that just ended has surely been counted."""
    await asyncio.sleep(COUNTED_WITHIN_S)
    return await generations_asked(url)


async def _generation_requests(url: str) -> list[Sample]:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    return [
        sample
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "quill_host_requests_total"
        and sample.labels["route"] in GENERATION_ROUTES
    ]

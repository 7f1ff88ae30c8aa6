"""One model call for an action, explanation or hover: a raw prompt streamed (base models),
or chat messages (instruct models: the server applies the model's own chat template)."""

from __future__ import annotations

import logging
import time

from quill.actions.prompts import ModelCall, Prompter, prompter_for
from quill.backends.answers import MAX_STOP_SEQUENCES, generate_until_stop
from quill.backends.base import GenerationOptions, session_key
from quill.backends.endpoint import ModelEndpoint
from quill.redaction import check_shareable

log = logging.getLogger(__name__)


async def prompter_of(endpoint: ModelEndpoint) -> Prompter:
    return prompter_for((await endpoint.info()).model_id)


async def run_model_call(endpoint: ModelEndpoint, call: ModelCall, path: str) -> str:
    """The model's answer to ``call`` about the file at ``path`` (cancelling the caller
    closes the stream). Raises ``NotShared`` for private code (see ``check_shareable``)."""
    check_shareable(path, [call.prompt, *(content for _, content in call.messages)])
    started = time.perf_counter()
    if call.messages:
        text = await _chat(endpoint, call, path)
    else:
        options = GenerationOptions(
            max_new_tokens=call.max_new_tokens,
            stop=call.stop[:MAX_STOP_SEQUENCES],
            session=session_key(path),
        )
        text = await generate_until_stop(endpoint.client, call.prompt, options, call.stop)
        for stop in call.stop:
            text = text.split(stop, 1)[0]
    log.info(
        "model call: %d prompt chars -> %d chars in %.0f ms",
        len(call.prompt) + sum(len(content) for _, content in call.messages),
        len(text), (time.perf_counter() - started) * 1000,
    )  # fmt: skip
    return text


async def _chat(endpoint: ModelEndpoint, call: ModelCall, path: str) -> str:
    messages = [{"role": role, "content": content} for role, content in call.messages]
    options = GenerationOptions(call.max_new_tokens, session=session_key(path))
    return await endpoint.client.chat(messages, options)

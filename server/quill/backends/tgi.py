"""The TGI dialect: ``/info``, ``/generate_stream``, ``/tokenize``, and TGI's OpenAI-style
``/v1/chat/completions`` for instruct models. Quill's own model host speaks it too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import attrs

from quill.backends.base import MAX_TOKEN_CHARS, GenerationOptions, ServerInfo, TokenChoice
from quill.backends.errors import FailureKind
from quill.backends.http import HttpApi
from quill.backends.openai import chat_answer, chat_payload

_DRAIN_TIMEOUT_S = 0.2  # for a server that sends its last event but keeps the stream open


def tgi_parameters(options: GenerationOptions) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "max_new_tokens": options.max_new_tokens,
        "stop": list(options.stop),
        "details": True,
        "return_full_text": False,
    }
    if options.temperature > 0:
        parameters.update(do_sample=True, temperature=options.temperature)
    else:
        parameters["do_sample"] = False
    if options.seed is not None:
        parameters["seed"] = options.seed
    return parameters


class TgiClient(HttpApi):
    """A text-generation-inference server (or ``quill host``)."""

    async def info(self) -> ServerInfo:
        body = await self.get_json("/info")
        model_id = body.get("model_id")
        if not isinstance(model_id, str):
            raise self.error(FailureKind.PROTOCOL, "/info has no model_id")
        max_input = body.get("max_input_tokens", body.get("max_input_length"))
        max_total = body.get("max_total_tokens")
        return ServerInfo(
            model_id,
            max_input if isinstance(max_input, int) else None,
            max_total if isinstance(max_total, int) else None,
            dialect="tgi",
            fim_markers=_fim_markers(body.get("fill_in_middle")),
        )

    async def tokenize(self, text: str) -> int | None:
        """How many tokens the server's own tokenizer makes of ``text``; ``None`` when
        the server has no ``/tokenize``."""
        response = await self.send("POST", "/tokenize", {"inputs": text})
        if response.status_code in (404, 405):
            return None
        if response.status_code != 200:
            raise self.http_error(response)
        try:
            tokens = response.json()
        except ValueError as error:
            raise self.error(FailureKind.PROTOCOL, "/tokenize is not JSON") from error
        if not isinstance(tokens, list):
            raise self.error(FailureKind.PROTOCOL, "/tokenize is not a JSON list")
        return len(tokens)

    async def chat(self, messages: list[dict[str, str]], options: GenerationOptions) -> str:
        """One answer from ``/v1/chat/completions``: the server applies the model's own
        chat template. Cancelling the caller closes the connection."""
        payload = chat_payload("tgi", messages, options)
        response = await self.send("POST", "/v1/chat/completions", payload, self.routing(options))
        return chat_answer(self, self.json_object(response, "/v1/chat/completions"))

    async def first_tokens(
        self, prompt: str, options: GenerationOptions, count: int
    ) -> list[TokenChoice]:
        """``/generate`` for one token with TGI's ``top_n_tokens``: the likeliest tokens at
        the answer's first step, as the server reports them."""
        parameters = tgi_parameters(attrs.evolve(options, max_new_tokens=1, stop=()))
        payload = {"inputs": prompt, "parameters": {**parameters, "top_n_tokens": count}}
        response = await self.send("POST", "/generate", payload, self.routing(options))
        body = self.json_object(response, "/generate")
        details = body.get("details")
        steps = details.get("top_tokens") if isinstance(details, dict) else None
        if not isinstance(steps, list) or not steps or not isinstance(steps[0], list):
            raise self.error(FailureKind.PROTOCOL, "/generate sent no top_tokens")
        choices = [
            TokenChoice(token["text"], float(token["logprob"]), bool(token.get("special")))
            for token in steps[0]
            if isinstance(token, dict)
            and isinstance(token.get("text"), str)
            and isinstance(token.get("logprob"), int | float)
        ]
        return sorted(choices, key=lambda choice: -choice.logprob)[:count]

    async def generate_stream(
        self, prompt: str, options: GenerationOptions
    ) -> AsyncGenerator[str, None]:
        """Yield the text of each generated token; stops the server when closed early.

        A stream that ends without TGI's final event was cut (``INCOMPLETE``); a server
        that sends more tokens than asked is cut off at ``max_new_tokens``, so a runaway
        answer can neither flood the editor nor hold the request.
        """
        payload = {"inputs": prompt, "parameters": tgi_parameters(options)}
        async with self.events("/generate_stream", payload, self.routing(options)) as stream:
            received = 0
            async for data in stream:
                event = self.decode_event(data)
                if "error" in event:
                    kind = FailureKind.from_error_type(event.get("error_type"), 500)
                    raise self.error(kind, str(event["error"]))
                token = event.get("token")
                if not isinstance(token, dict) or not isinstance(token.get("text"), str):
                    raise self.error(FailureKind.PROTOCOL, f"unexpected event {event!r:.200}")
                if len(token["text"]) > MAX_TOKEN_CHARS:
                    raise self.error(
                        FailureKind.PROTOCOL, f"a token of {len(token['text'])} characters"
                    )
                last = event.get("generated_text") is not None
                if last:
                    # Read the response to its end before handing over the last token:
                    # a caller that stops here then leaves a finished response, and the
                    # connection is reused instead of reopened on the next keystroke.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(_DRAIN_TIMEOUT_S):  # not forever
                            async for _ in stream:
                                pass
                if not token.get("special", False):
                    yield token["text"]
                received += 1
                if last or received >= options.max_new_tokens:
                    return
            raise self.error(FailureKind.INCOMPLETE, "the stream ended before its last event")


def _fim_markers(reported: object) -> dict[str, str]:
    """Quill's host reports the model's FIM markers (TGI does not): by role, texts only."""
    if not isinstance(reported, dict):
        return {}
    return {role: text for role, text in reported.items() if isinstance(text, str) and text}

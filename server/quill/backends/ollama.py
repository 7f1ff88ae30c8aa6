"""The Ollama dialect: ``/api/generate`` with ``raw`` prompts, ``/api/chat``, ``/api/show``.

Ollama's ``/v1`` routes would wrap a completion prompt in the model's template, which
breaks the fill-in-the-middle layout Quill writes itself; ``/api/generate`` with ``raw``
sends the prompt as it is. Ollama serves many models from one address, so the model is the
``model`` setting, else the first one loaded (``/api/ps``), else the first installed.
It has no tokenize route: token budgets are estimated.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from quill.backends.base import GenerationOptions, ServerInfo
from quill.backends.errors import FailureKind
from quill.backends.http import HttpApi

KEEP_ALIVE = "30m"
"""How long Ollama keeps the model (and its cache) loaded after a request: its default of
five minutes would unload it over a coffee break, and the next suggestion reloads it."""


class OllamaClient(HttpApi):
    def __init__(
        self, base_url: str, api_token: str = "", ca_bundle: str = "", model: str = ""
    ) -> None:
        super().__init__(base_url, api_token, ca_bundle=ca_bundle)
        self._model = model
        self._info: ServerInfo | None = None

    async def info(self) -> ServerInfo:
        """The model's name and its context length (``/api/show``'s model_info)."""
        if self._info is not None:
            return self._info
        name = self._model or await self._default_model()
        show = self.json_object(await self.send("POST", "/api/show", {"model": name}), "/api/show")
        model_info = show.get("model_info")
        lengths = [
            value
            for key, value in (model_info.items() if isinstance(model_info, dict) else [])
            if key.endswith(".context_length") and isinstance(value, int)
        ]
        self._info = ServerInfo(name, None, lengths[0] if lengths else None, dialect="ollama")
        return self._info

    async def _default_model(self) -> str:
        for path in ("/api/ps", "/api/tags"):  # loaded first: it answers without a load
            models = (await self.get_json(path)).get("models")
            if isinstance(models, list) and models and isinstance(models[0], dict):
                name = models[0].get("name")
                if isinstance(name, str):
                    return name
        raise self.error(FailureKind.PROTOCOL, "it has no model; `ollama pull` one, or set `model`")

    async def tokenize(self, text: str) -> int | None:
        return None

    async def health(self) -> bool:
        try:
            response = await self.send("GET", "/api/version")
        except Exception:
            return False
        return response.status_code == 200

    def _request(self, model: str, options: GenerationOptions, **fields: Any) -> dict[str, Any]:
        """The body both routes share: the model kept loaded, Ollama's sampling options."""
        sampling: dict[str, Any] = {
            "num_predict": options.max_new_tokens,
            "temperature": options.temperature,
        }
        if options.stop:
            sampling["stop"] = list(options.stop)
        if options.seed is not None:
            sampling["seed"] = options.seed
        return {"model": model, "keep_alive": KEEP_ALIVE, "options": sampling, **fields}

    async def chat(self, messages: list[dict[str, str]], options: GenerationOptions) -> str:
        info = await self.info()
        payload = self._request(info.model_id, options, messages=messages, stream=False)
        body = self.json_object(
            await self.send("POST", "/api/chat", payload, self.routing(options)), "/api/chat"
        )
        message = body.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise self.error(FailureKind.PROTOCOL, "not a chat answer")
        return content

    async def generate_stream(
        self, prompt: str, options: GenerationOptions
    ) -> AsyncGenerator[str, None]:
        """Yield each streamed piece of a raw prompt's answer; closing the stream early
        stops Ollama's generation. A stream that ends before ``done`` was cut."""
        info = await self.info()
        payload = self._request(info.model_id, options, prompt=prompt, raw=True, stream=True)
        async with (
            self.json_lines("/api/generate", payload, self.routing(options)) as lines,
            aclosing(
                self.named_pieces(lines, "response", "done", options.max_new_tokens)
            ) as pieces,
        ):
            async for piece in pieces:
                yield piece

"""The model server that the current settings name, with what it says of itself."""

from __future__ import annotations

import asyncio

from quill.backends.base import ServerInfo
from quill.backends.detect import Backend, connect
from quill.backends.embedded_host import DEFAULT_MODEL, EmbeddedHost
from quill.backends.tokenizer_file import TokenizerFile, load_tokenizer_file
from quill.backends.tokens import TokenCounter
from quill.settings import Settings


class ModelEndpoint:
    """One model server and what it says of itself, asked once and remembered."""

    def __init__(
        self,
        url: str,
        api_token: str,
        ca_bundle: str = "",
        backend: Backend = "auto",
        model: str = "",
        tokenizer_file: str = "",
    ) -> None:
        self.url = url
        self.api_token = api_token
        self.ca_bundle = ca_bundle
        self.backend = backend
        self.model = model
        self.tokenizer_file = tokenizer_file
        self.client = connect(url, api_token, ca_bundle, backend, model)
        self.tokens = TokenCounter(self._count_tokens)
        self._info: ServerInfo | None = None
        self._server_counts = True  # until the server turns out to have no tokenize route
        self._local_tokenizer: asyncio.Task[TokenizerFile | None] | None = None
        self.answered = False  # a completion has come back from it (its cache is warm)

    @property
    def identity(self) -> tuple[str, str, str, Backend, str, str]:
        """What makes it another server: a change of any of these settings."""
        return (
            self.url,
            self.api_token,
            self.ca_bundle,
            self.backend,
            self.model,
            self.tokenizer_file,
        )

    @property
    def token_source(self) -> str:
        """Where prompt token counts come from: the server, a local tokenizer file, or
        the low estimate."""
        if not self.tokens.exact:
            return "estimate"
        return "server" if self._server_counts else "tokenizer file"

    async def info(self) -> ServerInfo:
        if self._info is None:
            self._info = await self.client.info()
        return self._info

    async def _count_tokens(self, text: str) -> int | None:
        """The server's count; where it cannot count, the model's tokenizer file's (read
        once, off the event loop: a large one takes a second); else ``None``."""
        if self._server_counts:
            counted = await self.client.tokenize(text)
            if counted is not None:
                return counted
            self._server_counts = False
        if self._local_tokenizer is None:
            model_id = (await self.info()).model_id
            self._local_tokenizer = asyncio.create_task(
                asyncio.to_thread(load_tokenizer_file, self.tokenizer_file, model_id)
            )
        tokenizer = await asyncio.shield(self._local_tokenizer)
        return tokenizer.count(text) if tokenizer is not None else None


class EndpointProvider:
    """Gives the endpoint for the settings in force, starting the embedded host when the
    settings name no server.

    Starting the host takes longer than one request's deadline, so it runs as a task of
    its own: a request that gives up does not abort the start, and the next request
    waits for the same start instead of launching a second host.
    """

    def __init__(self, embedded_host: EmbeddedHost | None = None) -> None:
        self.embedded_host = embedded_host or EmbeddedHost()  # replaced when hostModel changes
        self._endpoint: ModelEndpoint | None = None
        self._host_start: asyncio.Task[str] | None = None
        self._lock = asyncio.Lock()

    async def get(self, settings: Settings) -> ModelEndpoint:
        async with self._lock:
            url = settings.server_url or await self._embedded_url(settings.host_model)
            token = settings.api_token if settings.server_url else ""
            current = self._endpoint
            model = settings.model if settings.server_url else ""
            tokenizer = settings.tokenizer_file if settings.server_url else ""
            wanted = (url, token, settings.ca_bundle, settings.backend, model, tokenizer)
            if current is None or current.identity != wanted:
                await self._close_current()
                self._endpoint = current = ModelEndpoint(*wanted)
            return current

    @property
    def starting(self) -> bool:
        """Whether the embedded host is being started (loading its model) right now."""
        return self._host_start is not None and not self._host_start.done()

    def start_embedded_host(self, model: str = DEFAULT_MODEL) -> asyncio.Task[str]:
        """Start (or join) the start-up of ``model``'s embedded host without waiting for it."""
        if model != self.embedded_host.model:  # the hostModel setting changed
            self.embedded_host = EmbeddedHost(self.embedded_host.directory, model)
            self._host_start = None
        if self._host_start is None or (
            self._host_start.done()
            and (self._host_start.cancelled() or self._host_start.exception() is not None)
        ):
            self._host_start = asyncio.create_task(self.embedded_host.ensure_running())
        return self._host_start

    async def _embedded_url(self, model: str) -> str:
        return await asyncio.shield(self.start_embedded_host(model))

    async def forget(self, endpoint: ModelEndpoint) -> None:
        """Drop an endpoint that stopped answering, so the next call looks again (and
        restarts the embedded host if that is what died)."""
        async with self._lock:
            if self._endpoint is endpoint:
                await self._close_current()
                self._host_start = None

    async def aclose(self) -> None:
        async with self._lock:
            await self._close_current()

    async def _close_current(self) -> None:
        if self._endpoint is not None:
            await self._endpoint.client.aclose()
            self._endpoint = None

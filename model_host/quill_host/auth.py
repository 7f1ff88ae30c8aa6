"""Who may use the host: anyone on this machine, or, beyond it, only holders of the token.

Bound to loopback the host is as private as the user's own processes. Bound to any other
address it would serve (and run prompts for) the whole network, so it refuses to start
without a token, and then every route but ``/health`` wants ``Authorization: Bearer``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json

from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN_ENVIRONMENT_VARIABLE = "QUILL_HOST_API_TOKEN"


class UnprotectedAddress(ValueError):
    """A non-loopback address was asked for without a token."""


def check_exposure(host: str, token: str | None) -> None:
    if token or _is_loopback(host):
        return
    raise UnprotectedAddress(
        f"refusing to serve on {host!r} without an API token: anyone who can reach it could "
        f"use the model; pass --api-token (or set {TOKEN_ENVIRONMENT_VARIABLE}), or bind "
        "127.0.0.1"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BearerTokenMiddleware:
    """Answers 401 (in TGI's error shape) to requests without the token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/health":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "missing or wrong API token", "error_type": "validation"})
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})

"""Typed failures of a model server, after TGI's ``error_type`` ↔ HTTP status table (the
other dialects' errors are mapped by their HTTP status).

The table is the host's own (`quill_host.error_types`, standard library only), so what the
embedded host answers and what the client reads back cannot drift apart.

The language server turns each into one message for the user, so every failure carries
the server it came from and a cause a person can act on.
"""

from __future__ import annotations

from enum import Enum

from quill_host.error_types import STATUS_BY_ERROR_TYPE, ErrorType


class FailureKind(Enum):
    UNREACHABLE = "unreachable"  # connection refused, DNS, TLS: nothing answered
    UNAUTHORIZED = "unauthorized"  # 401/403: no token, or the wrong one
    TIMEOUT = "timeout"  # answered too slowly for the deadline
    VALIDATION = ErrorType.VALIDATION.value  # 422: the request was refused as invalid
    GENERATION = ErrorType.GENERATION.value  # 424: the model failed while generating
    OVERLOADED = ErrorType.OVERLOADED.value  # 429: queue full
    INCOMPLETE = ErrorType.INCOMPLETE_GENERATION.value  # only by its error_type (a 500)
    PROTOCOL = "protocol"  # the answer was not in the dialect's shape
    SERVER = "server"  # 5xx or anything else

    @classmethod
    def from_error_type(cls, error_type: str | None, status: int) -> FailureKind:
        if status in (401, 403):  # TGI has no error_type for these; the status says it all
            return cls.UNAUTHORIZED
        for kind in cls:
            if kind.value == error_type:
                return kind
        return _KIND_BY_STATUS.get(status, cls.SERVER)


_KIND_BY_STATUS: dict[int, FailureKind] = {
    status: FailureKind(error_type.value)
    for error_type, status in STATUS_BY_ERROR_TYPE.items()
    if status < 500
}
"""TGI's statuses that name a failure by themselves: its 4xx ones. A 500 is any server's failure,
so only an `incomplete_generation` error_type makes it INCOMPLETE; a bare 500 is SERVER."""


class ModelServerError(Exception):
    """A model server could not give an answer."""

    def __init__(self, kind: FailureKind, server_url: str, detail: str) -> None:
        super().__init__(f"{server_url}: {kind.value}: {detail}")
        self.kind = kind
        self.server_url = server_url
        self.detail = detail

    def user_message(self) -> str:
        causes = {
            FailureKind.UNREACHABLE: "is not reachable",
            FailureKind.UNAUTHORIZED: "refused Quill's API token (check the apiToken setting)",
            FailureKind.TIMEOUT: "did not answer within the deadline",
            FailureKind.VALIDATION: "refused the request",
            FailureKind.GENERATION: "failed while generating",
            FailureKind.OVERLOADED: "is overloaded",
            FailureKind.INCOMPLETE: "stopped in the middle of an answer",
            FailureKind.PROTOCOL: "answered in a form Quill does not know",
            FailureKind.SERVER: "reported an error",
        }
        return f"Quill: the model server at {self.server_url} {causes[self.kind]} ({self.detail})"

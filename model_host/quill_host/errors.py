"""Typed failures of the host, each tied to one TGI `error_type` (and so one HTTP status).

Raised deep inside (engine, scheduler) and turned into an `ErrorBody` at the edge, so no layer
in between has to know about HTTP.
"""

from __future__ import annotations

from quill_host.error_types import ErrorType
from quill_host.protocol import ErrorBody


class HostError(Exception):
    """Base of the failures a client should see as a TGI error body."""

    error_type: ErrorType = ErrorType.INCOMPLETE_GENERATION

    def body(self) -> ErrorBody:
        """The wire shape of this failure."""
        return ErrorBody(error=str(self), error_type=self.error_type)


class ValidationFailed(HostError):
    """The request can never succeed as sent (bad JSON, bad parameters, prompt too long)."""

    error_type = ErrorType.VALIDATION


class GenerationFailed(HostError):
    """The engine failed while computing (TGI's 424)."""

    error_type = ErrorType.GENERATION


class Overloaded(HostError):
    """The waiting queue is full; the client should retry later (TGI's 429)."""

    error_type = ErrorType.OVERLOADED


class ModelNotFound(Exception):
    """`--model` names nothing this host can load; reported on the command line, not over HTTP."""


class ModelDamaged(ModelNotFound):
    """A named model's installed parts are not the published bytes (truncated, corrupted, the
    wrong version): refused rather than handed to an engine that would crash or talk nonsense."""

"""TGI's `error_type` values and the HTTP status each is answered with: one table for both ends.

The host answers failures by it, and Quill's client reads other servers' failures back by it, so
the two can never drift apart. Standard library only, on purpose: the language server imports
this without the host's extras (pydantic, uvicorn, llama.cpp).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class ErrorType(StrEnum):
    """TGI's stable `error_type` values; clients branch on these, never on messages."""

    VALIDATION = "validation"
    GENERATION = "generation"
    OVERLOADED = "overloaded"
    INCOMPLETE_GENERATION = "incomplete_generation"


STATUS_BY_ERROR_TYPE: Mapping[ErrorType, int] = MappingProxyType(
    {
        ErrorType.VALIDATION: 422,
        ErrorType.GENERATION: 424,
        ErrorType.OVERLOADED: 429,
        ErrorType.INCOMPLETE_GENERATION: 500,
    }
)
"""The status TGI's router answers with for each `error_type`."""


def http_status(error_type: ErrorType) -> int:
    """The HTTP status TGI answers with for `error_type`."""
    return STATUS_BY_ERROR_TYPE[error_type]

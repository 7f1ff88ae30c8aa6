"""``FileSymbols`` as plain JSON text, and back only if it is exactly that.

The index store reads this text from a file that anyone with access to the cache folder
may have written, so decoding must never run code (no pickle) and must not take whatever
a lenient converter would coerce: a crafted or damaged entry is a miss, not a symbol.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

from cattrs.preconf.json import JsonConverter, make_converter

from quill.context.symbols import FileSymbols


def _strict_converter() -> JsonConverter:
    """cattrs' JSON converter, made strict: it coerces nothing (``"3"`` is no line
    number, ``"abc"`` no tuple of names) and takes no unknown keys."""
    converter = make_converter(detailed_validation=False, forbid_extra_keys=True)

    def exactly(kind: type) -> Callable[[Any, Any], Any]:
        def check(value: Any, _: Any) -> Any:
            if type(value) is not kind:  # not ``isinstance``: a bool is no int
                raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
            return value

        return check

    def tuple_of(kind: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        (item_type, _) = typing.get_args(kind)
        item = converter.get_structure_hook(item_type)

        def structure(value: Any, _: Any) -> tuple[Any, ...]:
            if type(value) is not list:
                raise TypeError(f"expected a list, got {type(value).__name__}")
            return tuple(item(element, item_type) for element in value)

        return structure

    converter.register_structure_hook(str, exactly(str))
    converter.register_structure_hook(int, exactly(int))
    converter.register_structure_hook_factory(_is_homogeneous_tuple, tuple_of)
    return converter


def _is_homogeneous_tuple(kind: Any) -> bool:
    """``tuple[X, ...]``, the type of every sequence in ``FileSymbols``."""
    origin: object = typing.get_origin(kind)
    return origin is tuple and typing.get_args(kind)[1:] == (...,)


_CONVERTER = _strict_converter()


def encoded(symbols: FileSymbols) -> str:
    """A file's symbols as the store keeps them (ASCII JSON: a lone surrogate in a
    name survives the trip)."""
    return _CONVERTER.dumps(symbols, separators=(",", ":"))


def decoded(data: object) -> FileSymbols | None:
    """The symbols stored as ``data``, or ``None`` if it is not exactly what
    ``encoded`` makes: the row is read from a file anyone with access to the cache
    folder may have written."""
    if type(data) is not str:
        return None  # a BLOB (a pickle, say), a number, a NULL
    try:
        return _CONVERTER.loads(data, FileSymbols)
    except Exception:  # bad JSON, deep nesting, a wrong shape: whatever it is, a miss
        return None

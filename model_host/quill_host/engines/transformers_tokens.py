"""The raw bytes of one token, from a Hugging Face tokenizer.

Streaming needs each token's bytes, not its decoded text: a character can be split across tokens
(byte-fallback `<0xE2>` pieces, or byte-level BPE), and `tokenizer.decode([id])` turns a partial
character into U+FFFD and may strip a leading space. So the bytes are read from the token's
vocabulary entry with the rules of the tokenizer's own decoder: byte-level BPE's unicode-to-byte
table, or SentencePiece's `▁` for a space and `<0xHH>` for a raw byte.
"""

from __future__ import annotations

import json
import re
from typing import Any

_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters (byte-level BPE)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


_UNICODE_TO_BYTE = {char: byte for byte, char in _bytes_to_unicode().items()}


def _decoder_steps(tokenizer: Any) -> list[dict[str, Any]]:
    """The fast tokenizer's decoder as a flat list of JSON steps (empty for slow tokenizers)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return []
    decoder = json.loads(backend.to_str()).get("decoder") or {}
    steps = decoder.get("decoders", [decoder]) if decoder.get("type") == "Sequence" else [decoder]
    return [step for step in steps if isinstance(step, dict)]


class TokenBytes:
    """Maps token ids to bytes; built once per tokenizer, entries computed on first use."""

    def __init__(self, tokenizer: Any, special: set[int]) -> None:
        self._tokenizer = tokenizer
        self._special = special
        steps = _decoder_steps(tokenizer)
        kinds = {step.get("type") for step in steps}
        self._byte_level = "ByteLevel" in kinds
        self._byte_fallback = "ByteFallback" in kinds
        self._replacements: list[tuple[str, str]] = []
        for step in steps:
            if step.get("type") == "Replace":
                pattern = step.get("pattern", {}).get("String")
                if isinstance(pattern, str):
                    self._replacements.append((pattern, str(step.get("content", ""))))
            elif step.get("type") == "Metaspace":
                self._replacements.append((str(step.get("replacement", "▁")), " "))
        self._slow = not steps
        self._memo: dict[int, bytes] = {}

    def __call__(self, token: int) -> bytes:
        cached = self._memo.get(token)
        if cached is None:
            cached = self._compute(token)
            self._memo[token] = cached
        return cached

    def _compute(self, token: int) -> bytes:
        piece = self._tokenizer.convert_ids_to_tokens(token)
        if not isinstance(piece, str):
            return b""
        if token in self._special:
            return piece.encode("utf-8")
        if self._byte_level:
            if all(char in _UNICODE_TO_BYTE for char in piece):
                return bytes(_UNICODE_TO_BYTE[char] for char in piece)
            return piece.encode("utf-8")  # an added (non-byte-level) token: its literal text
        if self._byte_fallback:
            match = _BYTE_PIECE.fullmatch(piece)
            if match:
                return bytes([int(match.group(1), 16)])
        if self._slow:
            return str(self._tokenizer.convert_tokens_to_string([piece])).encode("utf-8")
        for pattern, content in self._replacements:
            piece = piece.replace(pattern, content)
        return piece.encode("utf-8")

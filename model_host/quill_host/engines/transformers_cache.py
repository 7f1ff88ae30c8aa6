"""The live sequence of the transformers engine: its token ids and their KV cache, kept in step.

`tokens[i]` is the token whose keys and values sit at position `i` of every cache layer, so the
cache can be cut back to any prefix of `tokens`. It must be a plain `DynamicCache()`: built with
`config=`, Gemma 3's sliding-window layers only keep their last window and cannot be cut back.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import DynamicCache

from quill_host.kv.prefix import common_prefix_length


class PrefixCache:
    """One cached sequence; `enabled=False` recomputes every prompt (to measure reuse)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.tokens: list[int] = []
        self.kv = DynamicCache()

    def prepare(self, prompt: Sequence[int]) -> int:
        """Cut the cache back to what `prompt` shares with it; the number of tokens kept.

        At most `len(prompt) - 1` are kept, so at least one token is computed and gives fresh
        logits. Returns 0 (and an empty cache) when nothing is shared.
        """
        keep = 0
        if self.enabled:
            keep = min(common_prefix_length(self.tokens, prompt), len(prompt) - 1)
        if keep <= 0:
            self.reset()
            return 0
        surplus = len(self.tokens) - keep
        if surplus > 0:
            self.kv.crop(-surplus)
            del self.tokens[keep:]
        return keep

    def appended(self, tokens: Sequence[int]) -> None:
        """Record that the model has just written `tokens` into the cache."""
        self.tokens.extend(tokens)

    def reset(self) -> None:
        """Forget everything (also after a failed forward pass, whose cache state is unknown)."""
        self.tokens = []
        self.kv = DynamicCache()

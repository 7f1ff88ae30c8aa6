"""The live sequence of the transformers engine: its token ids and their KV cache, kept in step,
and the parked sequences of other files.

`tokens[i]` is the token whose keys and values sit at position `i` of every cache layer, so the
cache can be cut back to any prefix of `tokens`. It must be a plain `DynamicCache()`: built with
`config=`, Gemma 3's sliding-window layers only keep their last window and cannot be cut back.
Parking a sequence keeps its cache object as it is (no copy); the live one starts afresh.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import DynamicCache

from quill_host.kv.prefix import common_prefix_length
from quill_host.kv.slots import SlotPool

MIN_SLOT_GAIN = 64
"""Switch to a parked sequence only when it saves at least this many tokens of prefill."""


class PrefixCache:
    """One live cached sequence and a pool of parked ones; `enabled=False` recomputes every
    prompt (to measure reuse)."""

    def __init__(self, *, enabled: bool = True, slot_budget_bytes: int = 0) -> None:
        self.enabled = enabled
        self.tokens: list[int] = []
        self.kv = DynamicCache()
        self._parked: SlotPool[DynamicCache] = SlotPool(slot_budget_bytes if enabled else 0)

    def prepare(self, prompt: Sequence[int]) -> int:
        """Make the live cache the best start for `prompt`; the number of tokens kept.

        The live sequence is cut back to what it shares with `prompt`, or swapped for a parked
        one that shares much more (another file), or, when it shares less than half, parked
        itself. At most `len(prompt) - 1` are kept, so at least one token is computed and gives
        fresh logits. Returns 0 (and an empty cache) when nothing is shared.
        """
        if not self.enabled:
            self.reset()
            return 0
        common = common_prefix_length(self.tokens, prompt)
        match = self._parked.take_best(prompt, better_than=common + MIN_SLOT_GAIN)
        if match is not None or common < len(self.tokens) // 2:
            self._park()
            common = 0
        if match is not None:
            self.tokens, self.kv = list(match.saved.tokens), match.saved.state
            common = match.common
        keep = min(common, len(prompt) - 1)
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
        """Forget the live sequence (also after a failed forward pass, whose cache state is
        unknown)."""
        self.tokens = []
        self.kv = DynamicCache()

    def _park(self) -> None:
        if len(self.tokens) >= MIN_SLOT_GAIN:
            self._parked.park(self.tokens, self.kv, _nbytes(self.kv))
        self.reset()


def _nbytes(cache: DynamicCache) -> int:
    total = 0
    for layer in cache.layers:
        for tensor in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if tensor is not None and hasattr(tensor, "nbytes"):
                total += int(tensor.nbytes)
    return total

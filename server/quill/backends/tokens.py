"""Token counts in the model's own tokenizer, asked of the model server and remembered.

Budgets in characters are wrong by a factor that depends on the model and the code
(Gemma counts 3 to 4 characters a token in Python, far fewer in minified or CJK text),
so prompts are budgeted in real tokens from the server's ``/tokenize``. Each distinct
text is asked once: context pieces and the stable chunks of the file window repeat
from one keystroke to the next, so a request usually tokenizes only the text it adds.
A server without ``/tokenize`` is counted with the model's tokenizer file where there is
one (``tokenizer_file.py``), else with a conservative estimate.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

CHARS_PER_TOKEN_ESTIMATE = 2.5
"""Used only when nothing counts: low on purpose, so an estimate rarely undercounts."""

_CACHE_ENTRIES = 4096
_GROWING_TEXTS = 8  # texts being typed into, remembered for ``count_grown``
_MAX_GROWTH_BYTES = 64  # beyond this the bound drifts too far: count again

Tokenize = Callable[[str], Awaitable[int | None]]


class TokenCounter:
    def __init__(self, tokenize: Tokenize) -> None:
        self._tokenize = tokenize
        self._counts: OrderedDict[str, int] = OrderedDict()
        self.exact = True  # False once nothing could count (no /tokenize, no tokenizer file)
        self._growing: list[tuple[str, int]] = []  # (text, its exact count), newest last

    async def count(self, text: str) -> int:
        if not text:
            return 0
        if (known := self._counts.get(text)) is not None:
            self._counts.move_to_end(text)
            return known
        counted = await self._tokenize(text) if self.exact else None
        if counted is None:
            if self.exact:
                log.info(
                    "neither the model server nor a tokenizer file counts tokens: "
                    "token counts are estimated (see the tokenizerFile setting)"
                )
            self.exact = False
            counted = estimate(text)
        self._counts[text] = counted
        if len(self._counts) > _CACHE_ENTRIES:
            self._counts.popitem(last=False)
        return counted

    async def count_grown(self, text: str) -> int:
        """A count for text that is being typed at its end, without asking the server on
        every keystroke: a text counted before, plus one token per byte typed since,
        which never undercounts (a byte is at most one token). Counted again for real
        once the typing has gone far from the last real count, or elsewhere."""
        for known, tokens in reversed(self._growing):
            if text.startswith(known):
                extra = len(text[len(known) :].encode("utf-8", "surrogatepass"))
                if extra <= _MAX_GROWTH_BYTES:
                    return tokens + extra
        tokens = await self.count(text)
        self._growing = [*self._growing[-(_GROWING_TEXTS - 1) :], (text, tokens)]
        return tokens

    async def count_all(self, texts: Sequence[str]) -> list[int]:
        """Counts for several texts, the unknown ones asked for at the same time."""
        return list(await asyncio.gather(*(self.count(text) for text in texts)))


def estimate(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN_ESTIMATE) + 1

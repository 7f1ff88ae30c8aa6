"""The model's fill-in-the-middle markers, read from its vocabulary, and prompts split on them.

A completion prompt is text, and text that merely looks like a control token (an `<eos>` in the
file being edited) must stay text. The FIM markers are the one exception: Quill writes them into
its prompts for a model trained on them (`<|fim_prefix|>`, `<|fim_suffix|>`, `<|fim_middle|>`,
and Qwen2.5-Coder's `<|repo_name|>` and `<|file_sep|>`), the way vLLM, TGI and llama.cpp's server
read them, as single control tokens. Spelled out as text they would be a dozen tokens the model
never saw in training, and its fill-in-the-middle would not work. So exactly these strings
become their tokens, and everything between them is tokenized as text.

`/info` reports them, so the language server can lay out fill-in-the-middle for a model whose
family it cannot tell from its id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

ROLES = ("prefix", "suffix", "middle", "repository", "file_separator")
"""The markers a prompt may hold, by what they mark; the first three make FIM possible."""


@dataclass(frozen=True, slots=True)
class FimMarkers:
    """Each role's marker text, and each marker's token id."""

    texts: dict[str, str]  # role -> the marker's text
    ids: dict[str, int]  # the marker's text -> its token id
    pattern: re.Pattern[str]  # any marker, longest first, captured

    @classmethod
    def from_vocabulary(
        cls, token_ids: dict[str, int | None], token_text: Callable[[int], str]
    ) -> FimMarkers | None:
        """The markers of a vocabulary (`None`: a token it lacks), or `None` for a model
        without the three that fill-in-the-middle needs (prefix, suffix, middle)."""
        ids = {role: token for role, token in token_ids.items() if token is not None}
        texts = {role: text for role, token in ids.items() if (text := token_text(token))}
        if not all(role in texts for role in ROLES[:3]):
            return None
        by_text = {texts[role]: ids[role] for role in texts}
        longest_first = sorted(by_text, key=len, reverse=True)
        pattern = re.compile(f"({'|'.join(map(re.escape, longest_first))})")
        return cls(texts, by_text, pattern)

    def split(self, text: str) -> Iterator[str | int]:
        """`text` as runs of plain text and the token ids of the markers between them."""
        for index, run in enumerate(self.pattern.split(text)):
            if index % 2:
                yield self.ids[run]
            elif run:
                yield run

    def as_json(self) -> dict[str, str]:
        return {role: self.texts[role] for role in ROLES if role in self.texts}

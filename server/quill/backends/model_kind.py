"""What a model's id says about how to talk to it."""

from __future__ import annotations

import re

# An instruct (chat) model's id or file name: "…-Instruct", "…-it", "…-chat", also with a
# quantization after it ("gemma-3-270m-it-Q4_K_M.gguf").
_INSTRUCT = re.compile(r"instruct|(?:^|[-_./])(?:it|chat)(?:[-_.]|$)")


def is_instruct(model_id: str) -> bool:
    """Whether the model answers chat turns rather than continuing text: such a model gets
    chat prompts for completions and actions alike, unless its family has FIM (see
    ``quill.completion.templates``)."""
    return _INSTRUCT.search(model_id.lower()) is not None

"""Suggestions that branch off the likeliest at its first token: what is asked of the
server, and what comes back, against a scripted server (the real host and servers:
tests/lsp/test_suggestions.py, tests/lsp/test_third_party_servers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import attrs

from quill.backends.base import GenerationOptions, TokenChoice
from quill.backends.errors import FailureKind, ModelServerError
from quill.completion.branches import FIRST_TOKENS_ASKED, branch_suggestions
from quill.completion.gate import Extent
from quill.completion.templates import Prompt
from quill.cursor import Cursor

PROMPT = Prompt("def total(values):\n    ", stop=("<|endoftext|>",))
CURSOR = Cursor("/project/total.py", "python", PROMPT.text, len(PROMPT.text))
OPTIONS = GenerationOptions(max_new_tokens=16, stop=("\n\n", "<|endoftext|>"))


@attrs.define
class ScriptedServer:
    """Answers each prompt from a script; records the prompts it was asked to continue."""

    first: list[TokenChoice]
    answers: dict[str, str]
    failing: frozenset[str] = frozenset()
    slow: frozenset[str] = frozenset()  # prompts whose answer takes a minute
    continued: list[str] = attrs.field(factory=list)
    asked_for: list[int] = attrs.field(factory=list)

    async def first_tokens(
        self, prompt: str, options: GenerationOptions, count: int
    ) -> list[TokenChoice]:
        self.asked_for.append(count)
        return self.first[:count]

    async def generate_stream(
        self, prompt: str, options: GenerationOptions
    ) -> AsyncGenerator[str, None]:
        self.continued.append(prompt)
        if prompt in self.failing:
            raise ModelServerError(FailureKind.GENERATION, "http://scripted", "it failed")
        if prompt in self.slow:
            await asyncio.sleep(60)
        for piece in self.answers[prompt]:
            yield piece


async def _branches(
    server: ScriptedServer, count: int, prompt: Prompt = PROMPT, within_s: float = 10
) -> list[str]:
    return await branch_suggestions(
        server,  # type: ignore[arg-type]  # only the two calls a branch makes
        prompt,
        OPTIONS,
        CURSOR,
        Extent.BLOCK,
        count,
        budget_s=10.0,
        until=asyncio.get_running_loop().time() + within_s,
    )


async def test_each_branch_continues_the_prompt_after_another_likely_first_token() -> None:
    server = ScriptedServer(
        [TokenChoice("return", -0.5), TokenChoice("result", -1.5), TokenChoice("for", -2.0)],
        {PROMPT.text + "result": " = sum(values)\n", PROMPT.text + "for": " value in values:"},
    )
    found = await _branches(server, 2)
    # The likeliest first token is the likeliest suggestion's own: not asked again.
    assert server.continued == [PROMPT.text + "result", PROMPT.text + "for"]
    assert server.asked_for == [FIRST_TOKENS_ASKED]
    assert found == ["result = sum(values)", "for value in values:"]


async def test_no_branch_begins_with_the_end_of_the_text_or_indentation() -> None:
    server = ScriptedServer(
        [
            TokenChoice("return", -0.5),
            TokenChoice("<|endoftext|>", -1.0),
            TokenChoice("<eos>", -1.3, special=True),
            TokenChoice("    ", -1.4),
            TokenChoice("pass", -3.0),
        ],
        {PROMPT.text + "pass": "\n"},
    )
    assert await _branches(server, 3) == ["pass"]  # the one left
    assert server.continued == [PROMPT.text + "pass"]


async def test_a_failing_branch_is_left_out_and_the_others_stand() -> None:
    failing = PROMPT.text + "result"
    server = ScriptedServer(
        [TokenChoice("return", -0.5), TokenChoice("result", -1.5), TokenChoice("for", -2.0)],
        {PROMPT.text + "for": " value in values:"},
        failing=frozenset({failing}),
    )
    assert await _branches(server, 2) == ["for value in values:"]


async def test_a_branch_not_done_in_time_is_left_out_and_the_others_stand() -> None:
    server = ScriptedServer(
        [TokenChoice("return", -0.5), TokenChoice("result", -1.5), TokenChoice("for", -2.0)],
        {PROMPT.text + "for": " value in values:"},
        slow=frozenset({PROMPT.text + "result"}),
    )
    started = asyncio.get_running_loop().time()
    assert await _branches(server, 2, within_s=0.3) == ["for value in values:"]
    assert asyncio.get_running_loop().time() - started < 1


async def test_no_branch_is_asked_for_a_chat_prompt_or_none_wanted() -> None:
    server = ScriptedServer([TokenChoice("return", -0.5), TokenChoice("pass", -1.0)], {})
    chat = Prompt("", (), messages=(("user", "complete this"),))
    assert await _branches(server, 2, chat) == []
    assert await _branches(server, 0) == []
    assert server.asked_for == []

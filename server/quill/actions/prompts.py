"""Prompts for code actions, explanations and hovers, per kind of model.

Base models (the packaged Gemma 3 270M has no chat template) get completion-style
prompts: the text the answer would naturally follow, e.g. a function's header and an
open ``\"\"\"`` for its docstring. Instruct models (IQuest-Coder-V1-40B-Instruct) get chat
messages asking for one fenced code block, which is parsed out of the answer.
"""

from __future__ import annotations

import textwrap
from typing import Protocol

import attrs

from quill.backends.answers import fenced_code
from quill.backends.model_kind import is_instruct

FENCE = "```"


@attrs.frozen
class ModelCall:
    """One model request: a raw prompt (base models) or chat messages (instruct)."""

    prompt: str = ""
    messages: tuple[tuple[str, str], ...] = ()  # (role, content)
    stop: tuple[str, ...] = ()
    max_new_tokens: int = 128


class Prompter(Protocol):
    """Builds the model calls of the actions; ``extract_code`` reads code back."""

    chat: bool

    def docstring(self, header: str, region: str, indent: str, language: str) -> ModelCall: ...

    def rewrite(self, region: str, instruction: str, language: str) -> ModelCall: ...

    def tests(self, module: str, name: str, source: str, header: str) -> ModelCall: ...

    def explain(self, source: str, language: str, one_sentence: bool) -> ModelCall: ...

    def extract_code(self, answer: str) -> str: ...


def _budget(text: str, extra: int = 64) -> int:
    return min(1024, len(text) // 3 + extra)  # ~3 characters a token for code


class BasePrompter:
    """Completion-style prompts for base models."""

    chat = False

    def docstring(self, header: str, region: str, indent: str, language: str) -> ModelCall:
        # ``header``: the file up to the end of the signature line; the model writes on.
        return ModelCall(prompt=f'{header}{indent}"""', stop=('"""', "\n\n"), max_new_tokens=48)

    def rewrite(self, region: str, instruction: str, language: str) -> ModelCall:
        code = textwrap.dedent(region)
        prompt = (
            f"Original {language} code:\n{FENCE}{language}\n{code}{FENCE}\n\n"
            f"The same code, {instruction}:\n{FENCE}{language}\n"
        )
        return ModelCall(prompt=prompt, stop=(FENCE,), max_new_tokens=_budget(code))

    def tests(self, module: str, name: str, source: str, header: str) -> ModelCall:
        prompt = f"# {module}.py\n{source.rstrip()}\n\n\n# test_{module}.py\n{header}"
        return ModelCall(
            prompt=prompt, stop=("\n\n\n", "\ndef ", "\nclass ", "\n# "), max_new_tokens=128
        )

    def explain(self, source: str, language: str, one_sentence: bool) -> ModelCall:
        code = textwrap.dedent(source).rstrip()
        if one_sentence:
            prompt = f"{FENCE}{language}\n{code}\n{FENCE}\n\nIn one sentence, this code"
            return ModelCall(prompt=prompt, stop=("\n",), max_new_tokens=48)
        prompt = f"{FENCE}{language}\n{code}\n{FENCE}\n\nExplanation of the code above:\n"
        return ModelCall(prompt=prompt, stop=("\n\n\n", FENCE), max_new_tokens=96)

    def extract_code(self, answer: str) -> str:
        return answer.split(FENCE, 1)[0]


class InstructPrompter:
    """Chat messages for instruct models; the answer's first fenced block is the code."""

    chat = True
    _SYSTEM = (
        "You are an expert programmer. Answer with exactly one fenced code block "
        "and nothing else. Keep everything you were not asked to change as it is."
    )

    def _ask(self, request: str, code: str, language: str, tokens: int) -> ModelCall:
        content = f"{request}\n\n{FENCE}{language}\n{code}{FENCE}"
        return ModelCall(
            messages=(("system", self._SYSTEM), ("user", content)), max_new_tokens=tokens
        )

    def docstring(self, header: str, region: str, indent: str, language: str) -> ModelCall:
        code = textwrap.dedent(region)
        return self._ask(
            "Add a concise docstring to this definition. Return the whole definition.",
            code, language, _budget(code, 160),
        )  # fmt: skip

    def rewrite(self, region: str, instruction: str, language: str) -> ModelCall:
        code = textwrap.dedent(region)
        return self._ask(f"Rewrite this code: {instruction}.", code, language, _budget(code, 256))

    def tests(self, module: str, name: str, source: str, header: str) -> ModelCall:
        request = (
            f"Write tests for `{name}` from module `{module}`. Start your answer with:\n{header}"
        )
        return self._ask(request, source, "python", 512)

    def explain(self, source: str, language: str, one_sentence: bool) -> ModelCall:
        request = (
            "In one sentence, what does this code do?"
            if one_sentence
            else "Explain this code briefly, in Markdown."
        )
        content = f"{request}\n\n{FENCE}{language}\n{textwrap.dedent(source)}{FENCE}"
        return ModelCall(messages=(("user", content),), max_new_tokens=64 if one_sentence else 400)

    def extract_code(self, answer: str) -> str:
        return fenced_code(answer)


def prompter_for(model_id: str) -> Prompter:
    """Instruct models by their id (see ``is_instruct``), else base."""
    return InstructPrompter() if is_instruct(model_id) else BasePrompter()


def reindent(code: str, indent: str) -> str:
    """``code`` dedented, then indented by ``indent`` (blank lines kept empty); ends with
    exactly one newline."""
    lines = textwrap.dedent(code.strip("\n")).splitlines()
    return "".join(f"{indent}{line}\n" if line.strip() else "\n" for line in lines)


def docstring_text(answer: str, indent: str) -> str:
    """A model's docstring continuation as a safe docstring block (no stray quotes)."""
    cleaned = answer.split('"""', 1)[0].replace("\\", "").strip()
    lines = [line.strip() for line in cleaned.splitlines()]
    if not lines or not lines[0]:
        return ""
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""\n'
    body = "".join(f"{indent}{line}\n" if line else "\n" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{body}{indent}"""\n'

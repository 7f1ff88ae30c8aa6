"""A model's own chat template, rendered the way transformers and llama-cpp-python render it.

Instruct models are trained on one exact layout of turns (Gemma's `<start_of_turn>user`, Qwen's
`<|im_start|>`), which the model ships as a Jinja template (GGUF `tokenizer.chat_template`, or
the tokenizer's). Rendering it with the same Jinja settings as the reference implementations
(a sandbox, `trim_blocks` and `lstrip_blocks`, loop controls, their `tojson` and helpers) gives
the model the prompt it was trained on; llama-cpp-python's `Jinja2ChatFormatter` is the
model for this, copied rather than imported so that the transformers engine never loads
llama.cpp. A template is code from the model file: the sandbox keeps it from reaching
anything but the messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from quill_host.engines.base import ChatTemplate
from quill_host.errors import ValidationFailed


class _IgnoreGenerationTags(jinja2.ext.Extension):
    """transformers' `{% generation %}` block (it marks assistant text for training masks):
    rendered as its plain content."""

    tags = {"generation"}  # noqa: RUF012 - jinja2's own class attribute, a set by its API

    def parse(self, parser: jinja2.parser.Parser) -> list[jinja2.nodes.Node]:
        parser.stream.skip(1)
        body: list[jinja2.nodes.Node] = parser.parse_statements(
            ("name:endgeneration",), drop_needle=True
        )
        return body


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    """transformers' `tojson`: plain `json.dumps`, not Jinja's HTML-escaping one."""
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _raise_exception(message: str) -> NoReturn:
    """Templates call this to refuse a conversation (roles that do not alternate)."""
    raise jinja2.TemplateError(message)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


class ChatRenderer:
    """One compiled chat template; `render` turns messages into the prompt text."""

    def __init__(self, template: ChatTemplate) -> None:
        environment = ImmutableSandboxedEnvironment(
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[_IgnoreGenerationTags, jinja2.ext.loopcontrols],
        )
        environment.filters["tojson"] = _tojson
        environment.globals["raise_exception"] = _raise_exception
        environment.globals["strftime_now"] = _strftime_now
        self._template = template
        self._compiled = environment.from_string(template.source)

    def render(self, messages: Sequence[Mapping[str, Any]]) -> str:
        """The prompt for `messages`, ending where the assistant's answer begins.

        A template that refuses the conversation, or fails on it, is the request's problem
        (the same model answers other conversations), so it is a 422 with the template's words.
        """
        try:
            return self._compiled.render(
                messages=[dict(message) for message in messages],
                bos_token=self._template.bos_token,
                eos_token=self._template.eos_token,
                add_generation_prompt=True,
            )
        except jinja2.TemplateError as error:
            raise ValidationFailed(
                f"the model's chat template refused the messages: {error}"
            ) from None
        except Exception as error:
            failure = f"{type(error).__name__}: {error}"
            raise ValidationFailed(
                f"the model's chat template failed on the messages: {failure}"
            ) from None


def compile_chat_template(template: ChatTemplate | None, model_id: str) -> ChatRenderer | str:
    """The renderer for a model's template, or why there is none (said on every chat request).

    Compiled once, when the host starts: a template that does not compile is the model
    file's fault, but the rest of the host still serves, so it is reported per request.
    """
    if template is None:
        return (
            f"the model {model_id!r} has no chat template (no tokenizer.chat_template in its "
            "GGUF or tokenizer): it is a base model; use /v1/completions or /generate"
        )
    try:
        return ChatRenderer(template)
    except jinja2.TemplateError as error:
        return f"the chat template of the model {model_id!r} does not compile: {error}"

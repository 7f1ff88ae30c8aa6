"""User settings: one frozen, fully defaulted tree, the single source of truth.

Editors send settings as camelCase JSON (``initializationOptions`` and
``workspace/didChangeConfiguration``). Bad values must never stop the server: they are
reported once and the defaults stand in, so a typo in an editor config costs a message,
not the completions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

PromptFormat = Literal[
    "auto", "prefix", "starcoder", "qwen", "deepseek", "codellama", "codestral", "chat", "infill"
]


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def _not_negative(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


MAX_SUGGESTIONS = 5
"""The most first tokens a TGI server reports by default (``--max-top-n-tokens``)."""


@attrs.frozen
class Settings:
    """Everything a user can set; the defaults are what a newcomer gets."""

    enable: bool = True
    # Empty: start (or reuse) the embedded model host on this machine.
    server_url: str = ""
    # The embedded host's model: "default" (Gemma 3 270M, small and fast), a name `quill host
    # --model` knows ("qwen2.5-coder-1.5b", with quill-lsp[coder]), or a .gguf file.
    host_model: str = attrs.field(default="default", validator=attrs.validators.min_len(1))
    # The API serverUrl speaks: "auto" asks it (TGI's /info, Ollama's /api/version, else
    # OpenAI's /v1/models).
    backend: Literal["auto", "tgi", "openai", "ollama"] = "auto"
    # The model to ask for on a server with several (Ollama, a router); empty: its first.
    model: str = ""
    # For a server that cannot count tokens (Ollama, some OpenAI-compatible ones): the
    # model's tokenizer.json, or a directory holding it. Empty: the model's directory when
    # the server names its model by a local path, else a low estimate.
    tokenizer_file: str = ""
    api_token: str = attrs.field(default="", repr=False)
    # A CA certificate file (PEM) for an https serverUrl signed by a private CA; TLS is
    # always verified, against this file or the system's store.
    ca_bundle: str = ""
    prompt_format: PromptFormat = "auto"
    # Fill-in-the-middle order for families trained on both (StarCoder, CodeLlama).
    fim_order: Literal["psm", "spm"] = "psm"
    # The whole prompt's budget in the model's own tokens (never more than the server's
    # max_input_tokens): the context takes at most half, the file window the rest.
    prompt_tokens: int = attrs.field(default=2048, validator=_positive)
    # Until a document's full prompt is in the model server's cache (it is being warmed in
    # the background), its suggestions use a prompt of at most this many tokens: the text
    # around the cursor, no context. A CPU computes the full prompt cold in seconds, past
    # the deadline. 0: always the full prompt (a GPU server computes it in milliseconds).
    # 512 against 384 (bench/line_starts.py --sessions 30, three runs at 512): exact first
    # lines 17.8-18.6% / 22.6% against 17.8% / 19.8%, a file's first line start 346-436 /
    # 208-326 ms against 222 / 239 ms (tuning / held-out; see the README).
    cold_prompt_tokens: int = attrs.field(default=512, validator=_not_negative)
    # Index the workspace's definitions (tree-sitter) for prompts and hovers.
    workspace_index: bool = True
    max_new_tokens: int = attrs.field(default=64, validator=_positive)
    # Generation's time budget: once spent, a suggestion is the complete lines generated so
    # far (at least the first); the rest of a block comes with the next suggestion.
    predict_ms: int = attrs.field(default=150, validator=_positive)
    # How many suggestions an explicit request (the editor's next-suggestion key) answers
    # with, to cycle through: the likeliest, then those that begin with the model's next
    # likeliest first tokens. Typing gets the likeliest only, or where that is empty at a
    # line start, the next that is not (with 1: none).
    suggestions: int = attrs.field(
        default=3, validator=[_positive, attrs.validators.le(MAX_SUGGESTIONS)]
    )
    # Prefill the prompts of opened documents (and where typing starts) on the model server,
    # and compute the next suggestion as soon as one is shown, as if it were accepted. Costs
    # model-server time for suggestions that may never be asked for.
    look_ahead: bool = True
    temperature: float = attrs.field(default=0.0, validator=_not_negative)
    # Wait this long after a keystroke before asking the model (not at a line start);
    # typing on supersedes it.
    debounce_ms: int = attrs.field(default=150, validator=_not_negative)
    # A completion is answered (possibly empty) within this time, whatever the model does.
    deadline_ms: int = attrs.field(default=3000, validator=_positive)
    # Characters of text before the cursor sent to a model; the window start is anchored.
    max_prefix_chars: int = attrs.field(default=6000, validator=_positive)
    # Characters after it, for fill-in-the-middle. In that order the suffix follows the text
    # being typed, so each request computes it again: on 2 CPU cores Qwen2.5-Coder-1.5B's
    # median line start took 5 s with 1500, 1.8 s with 400, at the same exact-match rate
    # (bench/line_starts.py; see the README).
    max_suffix_chars: int = attrs.field(default=400, validator=_not_negative)
    # Also offer the suggestion as a completion item: "auto" does for clients without
    # inline completion (ghost text), where it is the only way to show one.
    completion_items: Literal["auto", "on", "off"] = "auto"
    # Hovers: add a short model-written explanation (cached by the definition's content).
    hover_explain: bool = False
    # A hover is answered within this time; a late explanation is kept for the next hover.
    hover_deadline_ms: int = attrs.field(default=1500, validator=_positive)


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    renames: dict[str, Any] = {
        field.name: override(rename=camel_case(field.name)) for field in attrs.fields(Settings)
    }
    converter.register_structure_hook(
        Settings,
        make_dict_structure_fn(
            Settings,
            converter,
            _cattrs_forbid_extra_keys=True,
            **renames,
        ),
    )
    return converter


_converter = _make_converter()


def settings_from_options(*layers: Any) -> tuple[Settings, list[str]]:
    """Settings from editor JSON layers (later ones win: initialization options, then
    each configuration change), with the problems found.

    Each invalid key is dropped on its own, so one mistake does not discard the rest.
    """
    options: dict[str, Any] = {}
    problems: list[str] = []
    for layer in layers:
        if layer is None:
            continue
        if isinstance(layer, Mapping) and isinstance(layer.get("quill"), Mapping):
            layer = layer["quill"]  # {"quill": {...}}, as VS Code and Neovim send it
        if isinstance(layer, Mapping):
            options.update(layer)
        else:
            problems.append(f"settings must be an object, got {type(layer).__name__}")
    try:
        return _converter.structure(options, Settings), problems
    except Exception:
        pass
    valid: dict[str, Any] = {}
    for key, value in options.items():
        try:
            _converter.structure({**valid, key: value}, Settings)
        except Exception as error:
            problems.append(f"{key}: {_describe(error)}")
        else:
            valid[key] = value
    return _converter.structure(valid, Settings), problems


def _describe(error: BaseException) -> str:
    if isinstance(error, cattrs.ClassValidationError):
        messages = cattrs.transform_error(error)
        return "; ".join(messages)
    return str(error)

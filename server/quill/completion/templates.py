"""Prompt formats, and a prompt window whose start stays put while the user types.

A model server with prefix caching (TGI v3, vLLM, llama.cpp, our host) only recomputes
from the first token that differs from its last prompt. A window that slides with the
cursor changes its first token on every keystroke, so nothing is ever reused (measured
here: 1.9 s a suggestion instead of 0.14 s). The window's start therefore moves only in
large steps, and always to the start of a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

import attrs

from quill.backends.base import FillInMiddle
from quill.backends.model_kind import is_instruct
from quill.context.candidates import ContextPiece
from quill.context.quoting import as_comments, as_fenced_block, comment_mark, redacted_text
from quill.cursor import Cursor
from quill.settings import PromptFormat

WINDOW_STEP_CHARS = 2000


FimOrder = Literal["psm", "spm"]


@attrs.frozen
class Template:
    """How one model family wants a prompt laid out.

    ``psm`` and ``spm`` hold ``{prefix}`` and (for fill-in-the-middle) ``{suffix}``, in
    the family's prefix-suffix-middle or suffix-prefix-middle order. Families trained on
    whole repositories (StarCoder2, Qwen2.5-Coder) also say how to mark other files, so
    context goes in as files rather than as comments. Chat models get messages instead.
    """

    name: str
    psm: str = "{prefix}"
    spm: str | None = None
    stop: tuple[str, ...] = ()  # tokens after which the family's answer is over
    repo_header: str | None = None  # with ``{repo}``
    repo_file: str = ""  # a context file, with ``{path}`` and ``{text}``
    repo_current: str = ""  # what opens the current file, with ``{path}``
    repo_prefix_head: str = ""  # what the current file's prefix starts with, with ``{path}``
    chat: bool = False
    server_fim: bool = False  # the server lays out FIM with the model's own tokens

    @property
    def uses_suffix(self) -> bool:
        return self.chat or self.server_fim or "{suffix}" in self.psm

    def layout(self, order: FimOrder) -> str:
        return self.spm if order == "spm" and self.spm is not None else self.psm


TEMPLATES: dict[str, Template] = {
    "prefix": Template("prefix"),
    "starcoder": Template(
        "starcoder",
        psm="<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>",
        spm="<fim_prefix><fim_suffix>{suffix}<fim_middle>{prefix}",
        stop=("<|endoftext|>", "<file_sep>"),
        repo_header="<repo_name>{repo}",
        repo_file="<file_sep>{path}\n{text}\n",
        repo_current="<file_sep>",
        repo_prefix_head="{path}\n",
    ),
    "qwen": Template(
        "qwen",
        psm="<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>",
        stop=("<|endoftext|>", "<|file_sep|>", "<|fim_pad|>"),
        repo_header="<|repo_name|>{repo}\n",
        repo_file="<|file_sep|>{path}\n{text}\n",
        repo_current="<|file_sep|>{path}\n",
    ),
    # DeepSeek's real tokens use FULLWIDTH VERTICAL LINE and LOWER ONE EIGHTH BLOCK.
    "deepseek": Template(
        "deepseek",
        psm="<｜fim▁begin｜>{prefix}<｜fim▁hole｜>{suffix}<｜fim▁end｜>",  # noqa: RUF001
        stop=("<|EOT|>",),
    ),
    "codellama": Template(
        "codellama",
        psm="<PRE> {prefix} <SUF>{suffix} <MID>",
        spm="<PRE> <SUF>{suffix} <MID> {prefix}",
        stop=("<EOT>",),
    ),
    # Codestral was trained suffix first only.
    "codestral": Template("codestral", psm="[SUFFIX]{suffix}[PREFIX]{prefix}", stop=("</s>",)),
    "chat": Template("chat", chat=True),
    "infill": Template("infill", server_fim=True),
}

# Substrings of a model id that name its family; the first match wins.
_FAMILY_MARKERS: tuple[tuple[str, str], ...] = (
    ("starcoder", "starcoder"),
    ("qwen2.5-coder", "qwen"),
    ("qwen3-coder", "qwen"),
    ("deepseek-coder", "deepseek"),
    ("codellama", "codellama"),
    ("code-llama", "codellama"),
    ("codestral", "codestral"),
    ("iquest-coder", "chat"),
)


def template_for(
    prompt_format: PromptFormat,
    model_id: str,
    fim_markers: Mapping[str, str] | None = None,
    server_fills_in_middle: bool = False,
) -> Template:
    """The configured template, or the one the model id names: its family's FIM. For a
    model whose id names no family: FIM with the markers the server reports from the
    model's vocabulary, else the server's own FIM (llama.cpp's ``/infill``), else chat for
    an instruct model, prefix-only otherwise."""
    if prompt_format != "auto":
        return TEMPLATES[prompt_format]
    lowered = model_id.lower()
    for marker, family in _FAMILY_MARKERS:
        if marker in lowered:
            return TEMPLATES[family]
    if fim_markers and all(role in fim_markers for role in ("prefix", "suffix", "middle")):
        return markers_template(fim_markers)
    if server_fills_in_middle:
        return TEMPLATES["infill"]
    return TEMPLATES["chat" if is_instruct(model_id) else "prefix"]


def markers_template(markers: Mapping[str, str]) -> Template:
    """Fill-in-the-middle in the model's own markers, in PSM order (what every family with
    FIM was trained on); files of the repository marked as Qwen2.5-Coder and StarCoder2 were
    trained on, where the model has a file separator."""
    pre, suf, mid = (_literal(markers[role]) for role in ("prefix", "suffix", "middle"))
    repo, sep = _literal(markers.get("repository", "")), _literal(markers.get("file_separator", ""))
    return Template(
        "fim",
        psm=f"{pre}{{prefix}}{suf}{{suffix}}{mid}",
        stop=(markers["file_separator"],) if sep else (),
        repo_header=f"{repo}{{repo}}\n" if repo and sep else None,
        repo_file=f"{sep}{{path}}\n{{text}}\n",
        repo_current=f"{sep}{{path}}\n",
    )


def _literal(marker: str) -> str:
    """A marker as text inside a ``str.format`` pattern."""
    return marker.replace("{", "{{").replace("}", "}}")


def anchored_window_start(text: str, cursor: int, max_chars: int) -> int:
    """Where the prompt starts: stable across keystrokes, at most ``max_chars`` back.

    The start is a multiple of the step, moved forward to the next line start, so it
    changes only once every ``WINDOW_STEP_CHARS`` characters typed. The step is at most a
    third of the window, which therefore always holds two thirds of ``max_chars`` or more:
    a step as long as the window left nothing before the cursor just after it moved.
    """
    if cursor <= max_chars:
        return 0
    step = min(WINDOW_STEP_CHARS, max(max_chars // 3, 1))
    start = -(-(cursor - max_chars) // step) * step  # the first step at or after the limit
    line_start = text.find("\n", start, cursor)
    return line_start + 1 if line_start != -1 else start


@attrs.frozen
class Prompt:
    """What is sent to the model, and what went into it (for ``quill prompt`` and the
    "why did it suggest that?" command)."""

    text: str  # the raw prompt; empty for chat models and the server's own FIM
    stop: tuple[str, ...]
    messages: tuple[tuple[str, str], ...] = ()  # (role, content), for chat models
    pieces: tuple[ContextPiece, ...] = ()
    format: str = "prefix"
    tokens: int | None = None  # as counted against the budget
    budget: int | None = None
    # The small prompt of a document whose full one the server has not computed yet (see
    # ``quill.completion.prompt``).
    small: bool = False
    context_stale: bool = False  # held pieces that a fresh choice would change
    fill_in_middle: FillInMiddle | None = None  # for a server that lays out FIM itself


@attrs.frozen
class PromptParts:
    """The pieces of a prompt, before a template lays them out."""

    path: str  # the current file, as the prompt names it (relative to the workspace)
    language: str
    prefix: str
    suffix: str
    pieces: tuple[ContextPiece, ...] = ()
    piece_paths: tuple[str, ...] = ()  # each piece's path as the prompt names it
    repo: str = ""


def suffix_window(cursor: Cursor, max_chars: int) -> str:
    """The text after the cursor, cut at a line end when it does not fit whole."""
    suffix = cursor.suffix[:max_chars]
    if len(suffix) < len(cursor.suffix) and "\n" in suffix:
        suffix = suffix[: suffix.rfind("\n") + 1]
    return suffix


def lay_out(template: Template, order: FimOrder, parts: PromptParts) -> Prompt:
    """The prompt for ``template``: stable things first, the cursor last. The prefix and
    suffix come redacted (from ``quill.redaction.shareable_cursor``); pieces are redacted
    by ``piece_text``, which their token counts use too."""
    prefix, suffix = parts.prefix, parts.suffix
    context = "".join(
        piece_text(template, parts.language, path, piece)
        for path, piece in zip(parts.piece_paths, parts.pieces, strict=True)
    )
    if template.chat:
        messages = _chat_messages(parts.path, parts.language, context, prefix, suffix)
        return Prompt("", (), messages, parts.pieces, template.name)
    if template.server_fim:
        files = tuple(
            (path, piece_text(template, parts.language, path, piece))
            for path, piece in zip(parts.piece_paths, parts.pieces, strict=True)
        )
        request = FillInMiddle(prefix, suffix, files)
        return Prompt("", (), (), parts.pieces, template.name, fill_in_middle=request)
    head = ""
    if template.repo_header is not None and parts.pieces:
        head = template.repo_header.format(repo=parts.repo) + context
        head += template.repo_current.format(path=parts.path)
        prefix = template.repo_prefix_head.format(path=parts.path) + prefix
    elif parts.pieces:
        prefix = f"{context}{comment_mark(parts.language)} {parts.path}\n{prefix}"
    body = template.layout(order).format(prefix=prefix, suffix=suffix)
    return Prompt(head + body, template.stop, (), parts.pieces, template.name)


@lru_cache(maxsize=1024)  # the same pieces are costed again on every keystroke
def piece_text(template: Template, language: str, path: str, piece: ContextPiece) -> str:
    """One context piece as the prompt shows it: a file of the repository for families
    trained on repositories, otherwise quoted as ``quill.context.quoting`` quotes it."""
    if template.chat:
        return as_fenced_block(language, path, piece)
    if template.server_fim:
        return redacted_text(piece) + "\n"  # the server marks it as a file of the repository
    if template.repo_header is not None:
        return template.repo_file.format(path=path, text=redacted_text(piece))
    return as_comments(language, path, piece)


_CHAT_SYSTEM = (
    "You complete code. You are shown context from the repository, the code after the "
    "cursor, then the code before the cursor. Answer with exactly one fenced code block "
    "holding only the text to insert at the cursor, nothing that is already there."
)


def _chat_messages(
    path: str, language: str, context: str, prefix: str, suffix: str
) -> tuple[tuple[str, str], ...]:
    """Stable first here too: context, then the code after the cursor (unchanged while
    typing), then the code before it, whose end is the cursor."""
    fence = "```"
    if context:
        context = f"Context from the repository:\n\n{context}"
    user = (
        f"{context}The file {path}, after the cursor:\n"
        f"{fence}{language}\n{suffix}\n{fence}\n\n"
        "The same file up to the cursor (continue at its very end):\n"
        f"{fence}{language}\n{prefix}"
    )
    return (("system", _CHAT_SYSTEM), ("user", user))

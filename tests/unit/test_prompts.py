from __future__ import annotations

from quill.backends.base import FillInMiddle
from quill.completion.templates import (
    TEMPLATES,
    PromptParts,
    anchored_window_start,
    lay_out,
    template_for,
)
from quill.context.candidates import ContextPiece


def test_the_window_start_does_not_move_while_typing() -> None:
    text = "".join(f"line_{n} = {n}\n" for n in range(2000))
    starts = {anchored_window_start(text, cursor, 6000) for cursor in range(20_100, 21_900)}
    assert len(starts) == 1
    [start] = starts
    assert text[start - 1] == "\n"  # at the start of a line
    assert 21_900 - start <= 6000


def test_the_window_holds_two_thirds_of_its_size_or_more() -> None:
    """Measured: with ``maxPrefixChars`` 1,200 the window held nothing at the line after
    a move, and the model was asked with an empty prompt."""
    text = "".join(f"line_{n} = {n}\n" for n in range(2000))
    for size in (600, 1200, 6000):
        for cursor in range(size + 1, 20_000, 97):
            start = anchored_window_start(text, cursor, size)
            assert size * 2 // 3 - 20 <= cursor - start <= size, (size, cursor, start)


def test_short_files_are_sent_whole() -> None:
    assert anchored_window_start("abc", 3, 6000) == 0


def test_family_from_model_id() -> None:
    assert template_for("auto", "bigcode/starcoder2-3b") is TEMPLATES["starcoder"]
    assert template_for("auto", "Qwen/Qwen2.5-Coder-1.5B") is TEMPLATES["qwen"]
    assert template_for("auto", "gemma-3-270m-q4_k_m") is TEMPLATES["prefix"]
    assert template_for("codellama", "anything") is TEMPLATES["codellama"]
    assert template_for("auto", "IQuestLab/IQuest-Coder-V1-40B-Instruct") is TEMPLATES["chat"]
    # Another instruct model gets chat; a coder family with FIM keeps its FIM.
    assert template_for("auto", "/models/gemma-3-270m-it-Q4_K_M.gguf") is TEMPLATES["chat"]
    assert template_for("auto", "mistral-7b-instruct-v0.3") is TEMPLATES["chat"]
    assert template_for("auto", "qwen2.5-coder-1.5b-instruct") is TEMPLATES["qwen"]
    assert template_for("auto", "gemma-3-270m-q4_k_m") is TEMPLATES["prefix"]
    assert template_for("auto", "bigcode/starcoder2-3b-italian") is TEMPLATES["starcoder"]


def test_fill_in_the_middle_layout() -> None:
    parts = PromptParts("t.py", "python", prefix="def f():\n    ", suffix="return 1\n")
    prompt = lay_out(TEMPLATES["starcoder"], "psm", parts)
    assert prompt.text == "<fim_prefix>def f():\n    <fim_suffix>return 1\n<fim_middle>"
    assert "<|endoftext|>" in prompt.stop


def test_the_servers_own_fim_for_a_model_whose_family_the_id_does_not_name() -> None:
    assert template_for("auto", "coder", server_fills_in_middle=True) is TEMPLATES["infill"]
    assert (
        template_for("auto", "coder-instruct", server_fills_in_middle=True) is TEMPLATES["infill"]
    )
    assert (
        template_for("auto", "qwen2.5-coder-1.5b", server_fills_in_middle=True) is TEMPLATES["qwen"]
    )
    assert template_for("auto", "coder") is TEMPLATES["prefix"]


def test_the_servers_fim_gets_the_parts_and_other_files_as_text() -> None:
    piece = ContextPiece("definition", "/w/util.py", 0, 1, "def g():\n    return 2\n", "used")
    parts = PromptParts(
        "t.py", "python", "def f():\n    ", "\n", pieces=(piece,), piece_paths=("util.py",)
    )
    prompt = lay_out(TEMPLATES["infill"], "psm", parts)
    assert prompt.text == ""
    assert prompt.fill_in_middle == FillInMiddle(
        "def f():\n    ", "\n", (("util.py", "def g():\n    return 2\n"),)
    )


QWEN_MARKERS = {
    "prefix": "<|fim_prefix|>",
    "suffix": "<|fim_suffix|>",
    "middle": "<|fim_middle|>",
    "repository": "<|repo_name|>",
    "file_separator": "<|file_sep|>",
}


def test_the_models_own_markers_make_its_fim_when_the_id_names_no_family() -> None:
    """Qwen2.5-Coder's markers, as the host reads them from its vocabulary, lay out exactly
    the prompt Quill's own Qwen template does, repository context included."""
    template = template_for("auto", "coder", QWEN_MARKERS, server_fills_in_middle=True)
    assert template.name == "fim"
    piece = ContextPiece("definition", "/w/util.py", 0, 1, "def g():\n    return 2\n", "used")
    parts = PromptParts(
        "t.py", "python", "def f():\n    ", "\n", (piece,), ("util.py",), repo="project"
    )
    assert lay_out(template, "psm", parts).text == lay_out(TEMPLATES["qwen"], "psm", parts).text
    assert "<|file_sep|>" in template.stop


def test_markers_without_a_middle_are_no_fim() -> None:
    partial = {"prefix": "<PRE>", "suffix": "<SUF>"}
    assert template_for("auto", "model", partial) is TEMPLATES["prefix"]
    braces = {"prefix": "{p}", "suffix": "{s}", "middle": "{m}"}  # no format fields
    parts = PromptParts("t.py", "python", "a", "b")
    assert lay_out(template_for("auto", "m", braces), "psm", parts).text == "{p}a{s}b{m}"

from __future__ import annotations

from quill.cursor import Cursor
from quill.prompts import TEMPLATES, anchored_window_start, build_prompt, template_for


def test_the_window_start_does_not_move_while_typing() -> None:
    text = "".join(f"line_{n} = {n}\n" for n in range(2000))
    starts = {anchored_window_start(text, cursor, 6000) for cursor in range(20_100, 21_900)}
    assert len(starts) == 1
    [start] = starts
    assert text[start - 1] == "\n"  # at the start of a line
    assert 21_900 - start <= 6000


def test_short_files_are_sent_whole() -> None:
    assert anchored_window_start("abc", 3, 6000) == 0


def test_family_from_model_id() -> None:
    assert template_for("auto", "bigcode/starcoder2-3b") is TEMPLATES["starcoder"]
    assert template_for("auto", "Qwen/Qwen2.5-Coder-1.5B") is TEMPLATES["qwen"]
    assert template_for("auto", "gemma-3-270m-q4_k_m") is TEMPLATES["prefix"]
    assert template_for("codellama", "anything") is TEMPLATES["codellama"]


def test_fill_in_the_middle_layout() -> None:
    cursor = Cursor("t.py", "python", "def f():\n    return 1\n", 13)
    prompt = build_prompt(cursor, TEMPLATES["starcoder"], 6000, 1500)
    assert prompt.text == "<fim_prefix>def f():\n    <fim_suffix>return 1\n<fim_middle>"
    assert "<|endoftext|>" in prompt.stop


def test_prefix_only_ignores_the_suffix() -> None:
    cursor = Cursor("t.py", "python", "a = 1\nb = ", 10)
    assert build_prompt(cursor, TEMPLATES["prefix"], 6000, 1500).text == "a = 1\nb = "

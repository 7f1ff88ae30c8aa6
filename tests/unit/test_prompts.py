from __future__ import annotations

from quill.prompts import TEMPLATES, PromptParts, anchored_window_start, lay_out, template_for


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

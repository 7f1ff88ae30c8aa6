"""Prompts with context: the right definitions, within the token budget, laid out for
KV-cache reuse (the context stays put while the user types)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from quill.backends.base import ServerInfo
from quill.backends.tokens import TokenCounter
from quill.completion.prompt import build_prompt
from quill.completion.templates import TEMPLATES
from quill.context.candidates import ContextSources
from quill.context.index import WorkspaceIndex
from quill.context.prompt_context import PromptContext
from quill.context.recent_edits import RecentEdits
from quill.context.snippets import Buffer
from quill.cursor import Cursor
from quill.settings import Settings

INFO = ServerInfo("gemma-3-270m", max_input_tokens=32_767, max_total_tokens=32_768)


async def _three_chars_a_token(text: str) -> int:
    return len(text) // 3 + 1


def _counter() -> TokenCounter:
    return TokenCounter(_three_chars_a_token)


def _workspace(root: Path) -> WorkspaceIndex:
    (root / "billing").mkdir(parents=True)
    (root / "billing" / "rates.py").write_text(
        "def vat_for(country: str) -> float:\n"
        '    """The VAT rate of a country, as a fraction."""\n'
        '    return {"FR": 0.2, "DE": 0.19}.get(country, 0.0)\n\n\n'
        "def unrelated_helper():\n    return 42\n"
    )
    (root / "billing" / "invoice.py").write_text(
        "from billing.rates import vat_for\n\n\n"
        "def invoice_total(net: float, country: str) -> float:\n"
        "    rate = vat_for(country)\n"
        "    return net * (1 + "
    )
    index = WorkspaceIndex()
    index.scan([root])
    return index


def _cursor_at_end(path: Path) -> Cursor:
    text = path.read_text()
    return Cursor(str(path), "python", text, len(text))


async def test_the_imported_definition_used_at_the_cursor_is_in_the_prompt(tmp_path: Path) -> None:
    index = _workspace(tmp_path)
    cursor = _cursor_at_end(tmp_path / "billing" / "invoice.py")
    context = PromptContext(ContextSources(index=index), folders=(str(tmp_path),))
    prompt = await build_prompt(cursor, TEMPLATES["prefix"], Settings(), INFO, _counter(), context)
    [piece] = [piece for piece in prompt.pieces if piece.kind == "definition"]
    assert piece.path.endswith("billing/rates.py")
    assert "vat_for" in piece.reason
    assert "# billing/rates.py:1-3" in prompt.text
    assert "# def vat_for(country: str) -> float:" in prompt.text
    assert "unrelated_helper" not in prompt.text
    assert prompt.text.endswith("    return net * (1 + ")  # the cursor comes last
    assert prompt.tokens is not None
    assert prompt.tokens <= prompt.budget


async def test_the_budget_is_never_exceeded_and_the_server_limit_wins(tmp_path: Path) -> None:
    index = _workspace(tmp_path)
    path = tmp_path / "billing" / "invoice.py"
    text = "".join(f"value_{n} = vat_for('FR') * {n}\n" for n in range(3000))
    path.write_text(text)
    cursor = Cursor(str(path), "python", text, len(text))
    context = PromptContext(ContextSources(index=index), folders=(str(tmp_path),))
    small_server = ServerInfo("m", max_input_tokens=700, max_total_tokens=800)
    for settings, info, limit in [
        (Settings(prompt_tokens=1024), INFO, 1024),
        (Settings(prompt_tokens=2048, max_prefix_chars=100_000), INFO, 2048),
        (Settings(prompt_tokens=4096), small_server, 700),
    ]:
        prompt = await build_prompt(
            cursor, TEMPLATES["prefix"], settings, info, _counter(), context
        )
        assert (
            prompt.budget == min(limit, 800 - settings.max_new_tokens)
            if info is small_server
            else limit
        )
        assert prompt.tokens is not None
        assert prompt.tokens <= prompt.budget
        assert await _three_chars_a_token(prompt.text) <= prompt.budget


async def test_typing_keeps_everything_before_the_cursor_line_stable(tmp_path: Path) -> None:
    index = _workspace(tmp_path)
    path = tmp_path / "billing" / "invoice.py"
    base = path.read_text()
    context = PromptContext(
        ContextSources(index=index, buffers=lambda: [Buffer(str(path), 1, base)]),
        folders=(str(tmp_path),),
    )
    prompts = []
    for typed in ("r", "ra", "rat", "rate", "rate)"):
        text = base + typed
        cursor = Cursor(str(path), "python", text, len(text))
        prompt = await build_prompt(
            cursor, TEMPLATES["prefix"], Settings(), INFO, _counter(), context
        )
        prompts.append(prompt.text)
    for before, after in itertools.pairwise(prompts):
        assert after.startswith(before)  # only appended to: the server reuses all of it


async def test_a_cold_prompt_is_small_holds_no_context_and_grows_by_appending(
    tmp_path: Path,
) -> None:
    """The small prompt of a document not warm yet: within ``coldPromptTokens``, the lines
    before the cursor, no workspace context; and stable while typing goes on, so its few
    suggestions reuse each other."""
    index = _workspace(tmp_path)
    path = tmp_path / "billing" / "invoice.py"
    base = "".join(f"value_{n} = vat_for('FR') * {n}\n" for n in range(200)) + path.read_text()
    context = PromptContext(ContextSources(index=index), folders=(str(tmp_path),))
    settings = Settings(cold_prompt_tokens=200)
    prompts = []
    line = "rate) + 0.0  # rounded by the caller"
    for typed in (line[:end] for end in range(1, len(line) + 1)):
        text = base + typed
        cursor = Cursor(str(path), "python", text, len(text))
        prompt = await build_prompt(
            cursor, TEMPLATES["prefix"], settings, INFO, _counter(), context, cold=True
        )
        assert prompt.budget == 200
        assert prompt.tokens is not None
        assert prompt.tokens <= 200
        assert prompt.pieces == ()
        assert prompt.text.endswith("return net * (1 + " + typed)
        prompts.append(prompt.text)
    for before, after in itertools.pairwise(prompts):
        assert after.startswith(before)
    full = await build_prompt(cursor, TEMPLATES["prefix"], settings, INFO, _counter(), context)
    assert full.budget == 2048
    assert full.pieces  # the same cursor, warm: the definition of vat_for comes in


async def test_context_stays_put_when_new_candidates_appear(tmp_path: Path) -> None:
    index = _workspace(tmp_path)
    path = tmp_path / "billing" / "invoice.py"
    context = PromptContext(ContextSources(index=index), folders=(str(tmp_path),))
    first = await build_prompt(
        _cursor_at_end(path), TEMPLATES["prefix"], Settings(), INFO, _counter(), context
    )
    text = path.read_text() + "rate)\n    unrelated_helper("
    later = await build_prompt(
        Cursor(str(path), "python", text, len(text)),
        TEMPLATES["prefix"],
        Settings(),
        INFO,
        _counter(),
        context,
    )
    names = [piece.reason for piece in later.pieces]
    assert names[0] == first.pieces[0].reason  # the old piece first, the new one after
    assert any("unrelated_helper" in reason for reason in names[1:])


async def test_repo_level_fill_in_the_middle_for_starcoder(tmp_path: Path) -> None:
    index = _workspace(tmp_path)
    path = tmp_path / "billing" / "invoice.py"
    text = path.read_text() + "rate)\n\n# end\n"
    cursor = Cursor(str(path), "python", text, len(text) - len("\n\n# end\n"))
    context = PromptContext(ContextSources(index=index), folders=(str(tmp_path),))
    prompt = await build_prompt(
        cursor, TEMPLATES["starcoder"], Settings(), INFO, _counter(), context
    )
    assert prompt.text.startswith(
        f"<repo_name>{tmp_path.name}<file_sep>billing/rates.py\ndef vat_for"
    )
    assert (
        "<file_sep><fim_prefix>billing/invoice.py\nfrom billing.rates import vat_for" in prompt.text
    )
    assert prompt.text.endswith("<fim_suffix>\n\n# end\n<fim_middle>")


async def test_suffix_first_order_and_chat_messages(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    text = "def f(x):\n    return x\n\nprint(f(2))\n"
    cursor = Cursor(str(path), "python", text, text.index("x\n\nprint"))
    spm = await build_prompt(
        cursor, TEMPLATES["codellama"], Settings(fim_order="spm"), INFO, _counter()
    )
    assert spm.text == "<PRE> <SUF>x\n\nprint(f(2))\n <MID> def f(x):\n    return "
    chat = await build_prompt(cursor, TEMPLATES["chat"], Settings(), INFO, _counter())
    [(system_role, _), (user_role, user)] = chat.messages
    assert (system_role, user_role) == ("system", "user")
    assert user.index("print(f(2))") < user.index("def f(x)")  # the suffix first
    assert user.endswith("```python\ndef f(x):\n    return ")


async def test_recent_edits_and_similar_buffers_are_offered(tmp_path: Path) -> None:
    current = tmp_path / "report.py"
    other = tmp_path / "export.py"
    other_text = "\n".join(f"line_{n} = {n}" for n in range(40)) + (
        "\n\ndef export_rows(rows, writer):\n"
        "    for row in rows:\n"
        "        writer.writerow(row.cells)\n"
    )
    text = "def report_rows(rows, writer):\n    for row in rows:\n        "
    edits = RecentEdits()
    edits.record(str(other), 3, 3, 3)
    buffers = [Buffer(str(other), 2, other_text), Buffer(str(current), 1, text)]
    context = PromptContext(
        ContextSources(buffers=lambda: buffers, recent_edits=edits), folders=(str(tmp_path),)
    )
    cursor = Cursor(str(current), "python", text, len(text))
    prompt = await build_prompt(cursor, TEMPLATES["prefix"], Settings(), INFO, _counter(), context)
    kinds = {piece.kind: piece for piece in prompt.pieces}
    assert "writer.writerow(row.cells)" in kinds["snippet"].text
    assert kinds["edit"].start_line <= 3 <= kinds["edit"].end_line


@pytest.mark.parametrize("secret_name", [".env", "id_rsa.py"])
async def test_buffers_that_are_secret_never_feed_a_prompt(
    tmp_path: Path, secret_name: str
) -> None:
    from quill.context.workspace import WorkspaceContext

    secret = tmp_path / secret_name
    secret_text = (
        "def export_rows(rows, writer):\n    for row in rows:\n        writer.writerow(row)\n"
    )
    current = tmp_path / "report.py"
    text = "def report_rows(rows, writer):\n    for row in rows:\n        "
    buffers = [Buffer(str(secret), 1, secret_text), Buffer(str(current), 1, text)]
    workspace = WorkspaceContext([tmp_path], lambda: buffers, store_dir=tmp_path / "store")
    cursor = Cursor(str(current), "python", text, len(text))
    prompt = await build_prompt(
        cursor, TEMPLATES["prefix"], Settings(), INFO, _counter(), workspace.prompt_context
    )
    assert "writerow(row)" not in prompt.text
    assert not prompt.pieces
    workspace.close()


async def test_typing_is_counted_without_asking_the_server_each_time() -> None:
    asked: list[str] = []

    async def tokenize(text: str) -> int:
        asked.append(text)
        return len(text) // 3 + 1

    counter = TokenCounter(tokenize)
    text = "def f(x):\n    return x"
    exact = await counter.count_grown(text)
    for typed in (" +", " + 1", " + 1  # é"):
        bound = await counter.count_grown(text + typed)
        assert bound >= await tokenize(text + typed)  # never an undercount
        assert bound == exact + len(typed.encode())
    assert len(asked) == 1 + 3  # the first count, and the three checks above only
    await counter.count_grown(text + " " * 100)  # typed far past the last real count
    assert asked[-1] == text + " " * 100


async def test_the_code_being_edited_and_stray_members_are_not_context(tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text(
        "class Text:\n    def join(self, parts):\n        return ''.join(parts)\n"
    )
    path = tmp_path / "edit.py"
    text = (
        "def report(parts):\n    header = 'x'\n    body = header.join(parts)\n    return \n\n\n"
        "def later():\n    pass\n"
    )
    path.write_text(text)
    index = WorkspaceIndex()
    index.scan([tmp_path])
    context = PromptContext(ContextSources(index=index), folders=(str(tmp_path),))
    cursor = Cursor(str(path), "python", text, text.index("return ") + len("return "))
    prompt = await build_prompt(cursor, TEMPLATES["prefix"], Settings(), INFO, _counter(), context)
    assert prompt.pieces == ()  # not `report` itself, not `Text.join` found by its name


async def test_imports_not_used_yet_come_in_short_and_stay_put_when_lines_move(
    tmp_path: Path,
) -> None:
    (tmp_path / "lib.py").write_text(
        'def parse(text):\n    """Read a config.\n\n    Long details.\n    """\n'
        "    return {}\n    # many lines of body\n\n\n"
        'def render(config):\n    """Write a config."""\n    return ""\n'
    )
    path = tmp_path / "main.py"
    filler = "".join(f"STEP_{n} = {n}\n" for n in range(40))  # the import is far above
    text = f"from lib import parse, render\n{filler}\n\ndef run(source):\n    config = "
    path.write_text(text)
    index = WorkspaceIndex()
    index.scan([tmp_path])
    context = PromptContext(ContextSources(index=index), folders=(str(tmp_path),))
    cursor = Cursor(str(path), "python", text, len(text))
    first = await build_prompt(cursor, TEMPLATES["prefix"], Settings(), INFO, _counter(), context)
    texts = {piece.name: piece.text for piece in first.pieces}
    assert texts == {
        "parse": 'def parse(text):\n    """Read a config."""',
        "render": 'def render(config):\n    """Write a config."""',
    }
    # A line added above both definitions moves them; the prompt's context stays as it was.
    (tmp_path / "lib.py").write_text("import os\n" + (tmp_path / "lib.py").read_text())
    index.refresh(str(tmp_path / "lib.py"))
    again = await build_prompt(cursor, TEMPLATES["prefix"], Settings(), INFO, _counter(), context)
    assert again.text == first.text


async def test_imports_the_code_has_not_used_yet_come_first(tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text(
        "def parse(text):\n    pass\n\n\ndef render(config):\n    pass\n"
    )
    path = tmp_path / "main.py"
    filler = "".join(f"STEP_{n} = {n}\n" for n in range(40))
    text = f"from lib import render, parse\nOUT = render\n{filler}\n\ndef run(source):\n    x = "
    path.write_text(text)
    index = WorkspaceIndex()
    index.scan([tmp_path])
    context = PromptContext(ContextSources(index=index), folders=(str(tmp_path),))
    cursor = Cursor(str(path), "python", text, len(text))
    prompt = await build_prompt(cursor, TEMPLATES["prefix"], Settings(), INFO, _counter(), context)
    assert [piece.name for piece in prompt.pieces] == ["parse", "render"]


async def test_the_window_start_never_moves_back_while_typing(tmp_path: Path) -> None:
    # A file past the prefix budget: the window's start is moved on to fit, and the bound
    # on the chunk being typed in over-counts until it is counted again. The start may
    # move on once; moving back when the real count comes would recompute the window.
    lines = "".join(f"value_{n} = compute({n}, scale=2)\n" for n in range(280))
    settings = Settings(prompt_tokens=1820, max_prefix_chars=6000)  # the window just fits
    context = PromptContext(ContextSources(), folders=(str(tmp_path),))
    counter = _counter()
    starts = []
    typed = ""
    for key in "total = sum(value for value in values if value > 0) + sum(other for other in more)":
        typed += key
        text = lines + typed
        cursor = Cursor(str(tmp_path / "a.py"), "python", text, len(text))
        prompt = await build_prompt(cursor, TEMPLATES["prefix"], settings, INFO, counter, context)
        starts.append(len(text) - len(prompt.text))
    assert starts == sorted(starts)  # the start only moves on
    assert len(set(starts)) <= 2

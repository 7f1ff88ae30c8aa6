"""An action's edit, written by the model when the action is chosen: a checked new text
for one region of a file.

Every result is re-indented to fit and parsed with tree-sitter: an edit that would add
parse errors to its file is refused, so 100% of the edits offered parse. The model sees
the workspace definitions the region uses (``quill.actions.context``) where there is an
index.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import attrs

from quill.actions.context import definitions_for_region, with_definitions
from quill.actions.listing import ActionSpec
from quill.actions.model_call import prompter_of, run_model_call
from quill.actions.prompts import ModelCall, Prompter, docstring_text, reindent
from quill.backends.endpoint import ModelEndpoint
from quill.context import syntax
from quill.context.prompt_context import PromptContext

ModelCaller = Callable[[ModelCall], Awaitable[str]]


class NoUsableEdit(Exception):
    """The model's answer could not be made into a safe edit."""


@attrs.frozen
class RegionEdit:
    """The region ``[start, end)`` of the file at ``path`` becomes ``text``."""

    path: str
    start: int
    end: int
    text: str
    create: bool = False  # the file does not exist yet


async def write_edit(
    spec: ActionSpec,
    path: str,
    text: str,
    language: str | None,
    endpoint: ModelEndpoint,
    context: PromptContext | None,
    project_root: str | None,
) -> RegionEdit:
    """The edit for ``spec`` in the file at ``path`` (whose text is ``text``), with the
    workspace definitions its region uses in front of each model call."""
    prompter = await prompter_of(endpoint)
    pieces = []
    if context is not None and language is not None:
        pieces = await definitions_for_region(
            path, language, text, spec.start, spec.end, context, endpoint.tokens
        )

    async def call(model_call: ModelCall) -> str:
        if pieces and context is not None:
            model_call = with_definitions(model_call, pieces, language or "", context, path)
        return await run_model_call(endpoint, model_call, path)

    return await resolve(spec, path, text, language, call, prompter, project_root)


def _checked(text: str, language: str | None, start: int, end: int, new: str) -> str:
    """``new`` if putting it in ``[start, end)`` adds no parse error, else ``NoUsableEdit``."""
    if new == text[start:end]:
        raise NoUsableEdit("the model suggested no change")
    if language is not None:
        before = syntax.error_count(text, language)
        after = syntax.error_count(text[:start] + new + text[end:], language)
        if after > before:
            raise NoUsableEdit("the model's answer does not parse")
    return new


async def resolve(
    spec: ActionSpec,
    path: str,
    text: str,
    language: str | None,
    call: ModelCaller,
    prompter: Prompter,
    project_root: str | None = None,
) -> RegionEdit:
    """The model's edit for ``spec``, checked (raises ``NoUsableEdit``)."""
    region = text[spec.start : spec.end]
    indent = region[: len(region) - len(region.lstrip(" \t"))]
    lang = language or "text"
    if spec.kind == "docstring":
        return await _docstring(spec, path, text, lang, call, prompter)
    if spec.kind == "tests":
        return await _tests(spec, path, text, call, prompter, project_root)
    if not spec.instruction:
        raise NoUsableEdit("no instruction was given")
    answer = await call(prompter.rewrite(region, spec.instruction, lang))
    code = prompter.extract_code(answer)
    if not code.strip():
        raise NoUsableEdit("the model gave no code")
    new = reindent(code, indent)
    if not region.endswith("\n"):
        new = new.removesuffix("\n")
    checked = _checked(text, language, spec.start, spec.end, new)
    return RegionEdit(path, spec.start, spec.end, checked)


async def _docstring(
    spec: ActionSpec, path: str, text: str, lang: str, call: ModelCaller, prompter: Prompter
) -> RegionEdit:
    tree = syntax.parse(text, lang)
    definition = tree.definition_at(spec.start)
    if definition is None:
        raise NoUsableEdit("no function or class here any more")
    body_line = text.rfind("\n", 0, definition.body_start) + 1
    body_indent = text[body_line : definition.body_start]
    if body_indent.strip() or body_line <= definition.start:
        raise NoUsableEdit("the body starts on the definition's line")
    region = text[spec.start : spec.end]
    answer = await call(prompter.docstring(text[:body_line], region, body_indent, lang))
    if prompter.chat:
        new = reindent(prompter.extract_code(answer), definition.indent)
    else:
        docstring = docstring_text(answer, body_indent)
        if not docstring:
            raise NoUsableEdit("the model wrote no docstring")
        cut = body_line - spec.start
        new = region[:cut] + docstring + region[cut:]
    return RegionEdit(path, spec.start, spec.end, _checked(text, lang, spec.start, spec.end, new))


def tests_path(source: str, project_root: str | None) -> Path:
    """Where the tests for ``source`` go: ``<root>/tests/test_<module>.py`` when the project
    has a ``tests`` folder, else next to the source file."""
    module = Path(source)
    name = f"test_{module.stem}.py"
    if project_root and (Path(project_root) / "tests").is_dir():
        return Path(project_root) / "tests" / name
    return module.with_name(name)


def uses_pytest(project_root: str | None, existing: str) -> bool:
    if existing.strip():
        return "import pytest" in existing or "unittest" not in existing
    if not project_root:
        return True
    root = Path(project_root)
    markers = ("conftest.py", "pytest.ini", "tests/conftest.py")
    if any((root / marker).exists() for marker in markers):
        return True
    for config in ("pyproject.toml", "setup.cfg", "tox.ini"):
        file = root / config
        if file.is_file() and "pytest" in file.read_text(errors="replace"):
            return True
    return not any(root.glob("tests/test_*.py"))  # no tests yet: pytest, the common choice


async def _tests(
    spec: ActionSpec,
    path: str,
    text: str,
    call: ModelCaller,
    prompter: Prompter,
    project_root: str | None,
) -> RegionEdit:
    target = tests_path(path, project_root)
    existing = target.read_text() if target.is_file() else ""
    module = Path(path).stem
    pytest_style = uses_pytest(project_root, existing)
    imports = f"from {module} import {spec.name}\n"
    if pytest_style:
        header = f"def test_{spec.name}():\n    "
        preamble = "import pytest\n\n" + imports
    else:
        header = f"class Test{spec.name.title()}(unittest.TestCase):\n    def test_{spec.name}(self):\n        "  # noqa: E501
        preamble = "import unittest\n\n" + imports
    answer = await call(prompter.tests(module, spec.name, text[spec.start : spec.end], header))
    body = reindent(prompter.extract_code(answer), "") if prompter.chat else header + answer
    body = _longest_parsing_prefix(body, len(header.splitlines()))
    if not body.strip() or body.strip() == header.strip():
        raise NoUsableEdit("the model wrote no test")
    addition = ("" if existing else preamble) + ("\n\n" if existing or preamble else "") + body
    if existing and not existing.endswith("\n"):
        addition = "\n" + addition
    if imports not in existing and existing:
        addition = "\n" + imports + addition
    end = len(existing)
    checked = _checked(existing, "python", end, end, addition)
    return RegionEdit(str(target), end, end, checked, create=not target.exists())


def _longest_parsing_prefix(code: str, min_lines: int) -> str:
    """``code`` cut after its last whole line that leaves it parsing (a model stopped by
    its token budget ends mid-statement); "" if no such cut keeps ``min_lines`` lines."""
    lines = code.rstrip().splitlines(keepends=True)
    for end in range(len(lines), min_lines - 1, -1):
        candidate = "".join(lines[:end]).rstrip() + "\n"
        if end > 0 and syntax.error_count(candidate, "python") == 0:
            return candidate
    return ""

"""The JetBrains (LSP4IJ) template, the Helix entries and the VS Code settings schema: they
parse, start a command that exists, and carry only settings the server accepts."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
import typing
from pathlib import Path
from typing import Any, Literal

import attrs
import pytest

from quill.settings import Settings, settings_from_options

EDITORS = Path(__file__).parents[2] / "editors"
JETBRAINS = EDITORS / "jetbrains" / "quill"
HELIX = EDITORS / "helix" / "languages.toml"
VSCODE_MANIFEST = EDITORS / "vscode" / "package.json"
VSCODE_LOGIC = EDITORS / "vscode" / "src" / "logic.ts"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


SERVER_DEFAULTS = {_camel(field.name): field.default for field in attrs.fields(Settings)}


def _assert_starts_quill_serve(command: list[str]) -> None:
    """``command`` is ``quill serve`` (or a Python's ``-m quill serve``) and that runs."""
    assert command[-1] == "serve", command
    executable = shutil.which(command[0])
    assert executable is not None, f"{command[0]} is not on PATH"
    help_run = subprocess.run(
        [executable, *command[1:], "--help"], capture_output=True, text=True, timeout=60
    )
    assert help_run.returncode == 0, help_run.stderr
    assert "--tcp" in help_run.stdout  # the help of `quill serve`


def _assert_valid_settings(options: Any) -> None:
    _, problems = settings_from_options(options)
    assert problems == []


def test_lsp4ij_template_starts_quill_serve() -> None:
    template = json.loads((JETBRAINS / "template.json").read_text())
    assert template["id"] == "quill"
    _assert_starts_quill_serve(shlex.split(template["programArgs"]["default"]))
    assert template["programArgs"]["windows"].split() == ["quill.exe", "serve"]
    mappings = template["fileTypeMappings"]
    assert {"python", "javascript", "typescript"} <= {m["languageId"] for m in mappings}
    for mapping in mappings:
        assert mapping["fileType"].get("patterns") or mapping["fileType"].get("name")


def test_lsp4ij_options_are_the_server_settings_and_defaults() -> None:
    options = json.loads((JETBRAINS / "initializationOptions.json").read_text())
    # LSP4IJ asks for inline completion without declaring it (LSPInlineCompletionFeature):
    # "auto" would also offer completion items, and every keystroke would cost two requests.
    assert options == SERVER_DEFAULTS | {"completionItems": "off"}
    settings = json.loads((JETBRAINS / "settings.json").read_text())
    _assert_valid_settings(settings)  # {"quill": {...}}, laid over the options at run time


# What LSP4IJ reads from a template folder and a template.json, from its sources
# (redhat-developer/lsp4ij: LanguageServerTemplate.java, LanguageServerTemplateDeserializer.java).
LSP4IJ_FILES = {
    "template.json",
    "initializationOptions.json",
    "settings.json",
    "settings.schema.json",
    "clientSettings.json",
    "README.md",
}
LSP4IJ_TEMPLATE_KEYS = {"id", "name", "programArgs", "fileTypeMappings", "languageMappings"}
LSP4IJ_OS_KEYS = {"default", "windows", "mac", "unix"}


def test_lsp4ij_template_is_in_the_format_lsp4ij_reads() -> None:
    """LSP4IJ imports the folder by file name and reads template.json with a hand-written
    Gson deserializer: an unknown file is ignored, a missing ``patterns`` array throws."""
    assert {path.name for path in JETBRAINS.iterdir()} <= LSP4IJ_FILES
    template = json.loads((JETBRAINS / "template.json").read_text())
    assert set(template) <= LSP4IJ_TEMPLATE_KEYS
    assert isinstance(template["name"], str)
    assert set(template["programArgs"]) <= LSP4IJ_OS_KEYS
    assert isinstance(template["programArgs"]["default"], str)
    for mapping in template["fileTypeMappings"]:
        assert set(mapping) == {"fileType", "languageId"}
        assert isinstance(mapping["languageId"], str)
        assert set(mapping["fileType"]) <= {"name", "patterns"}
        patterns = mapping["fileType"]["patterns"]
        assert patterns, mapping
        assert all(isinstance(pattern, str) for pattern in patterns)


def test_helix_entries_start_quill_serve() -> None:
    config = tomllib.loads(HELIX.read_text())
    server = config["language-server"]["quill"]
    _assert_starts_quill_serve([server["command"], *server["args"]])
    _assert_valid_settings(server["config"])
    [python] = [language for language in config["language"] if language["name"] == "python"]
    [quill] = [
        entry
        for entry in python["language-servers"]
        if entry == "quill" or (isinstance(entry, dict) and entry["name"] == "quill")
    ]
    # Hovers are left to the language's own server, which Helix would otherwise ask first.
    assert quill == {"name": "quill", "except-features": ["hover"]}


def test_vscode_settings_are_the_server_settings_with_their_defaults() -> None:
    manifest = json.loads(VSCODE_MANIFEST.read_text())
    properties = manifest["contributes"]["configuration"]["properties"]
    server_keys = {key.removeprefix("quill."): spec for key, spec in properties.items()}
    client_only = {"server.command"}
    assert set(server_keys) - client_only == set(SERVER_DEFAULTS)
    for key, default in SERVER_DEFAULTS.items():
        assert server_keys[key]["default"] == default, key
    # ...and the extension forwards every one of them to the server.
    forwarded = re.search(
        r"SERVER_SETTING_KEYS = \[(.*?)\] as const", VSCODE_LOGIC.read_text(), re.S
    )
    assert forwarded is not None
    assert set(re.findall(r'"(\w+)"', forwarded.group(1))) == set(SERVER_DEFAULTS)
    prompt_formats = server_keys["promptFormat"]["enum"]
    for prompt_format in prompt_formats:
        _assert_valid_settings({"promptFormat": prompt_format})


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def test_vscode_settings_schema_types_are_the_server_types() -> None:
    """A value VS Code's settings editor accepts is one the server accepts: same type,
    same choices."""
    properties = json.loads(VSCODE_MANIFEST.read_text())["contributes"]["configuration"][
        "properties"
    ]
    hints = typing.get_type_hints(Settings)
    for field in attrs.fields(Settings):
        spec = properties[f"quill.{_camel(field.name)}"]
        hint = hints[field.name]
        if typing.get_origin(hint) is Literal:
            assert spec["type"] == "string", field.name
            assert spec["enum"] == list(typing.get_args(hint)), field.name
        else:
            assert spec["type"] == _JSON_TYPES[hint], field.name


@pytest.mark.parametrize(
    "path",
    [
        "editors/helix/languages.toml",
        "editors/jetbrains/quill",
        "editors/neovim",
        "editors/vscode",
    ],
)
def test_the_readme_points_at_the_tested_files(path: str) -> None:
    readme = (EDITORS.parent / "README.md").read_text()
    assert path in readme

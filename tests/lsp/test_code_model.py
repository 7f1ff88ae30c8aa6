"""The code model, Qwen2.5-Coder-1.5B-Instruct, on the embedded host, end to end: ghost
text through its own fill-in-the-middle tokens, and code actions and hover explanations
through its chat template (the host's ``/v1/chat/completions``).

What the model writes is not checked beyond what any working answer has (an edit that
parses and adds the docstring asked for, an explanation under the definition): the checks
are that each feature reaches the model the way the model was trained to be asked.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator

import pytest
from lsprotocol import types

from quill_host.models import resolve_model
from tests.conftest import (
    COUNTING,
    COUNTING_END,
    COUNTING_URI,
    Host,
    StartClient,
    inline_params,
    open_document,
    start_host,
    stop_host,
)
from tests.host_metrics import COUNTED_WITHIN_S
from tests.lsp.test_code_actions import (
    RESOLVE,
    SOURCE,
    URI,
    add_docstring_action,
    apply_edit,
    explained_hover,
)
from tests.lsp.test_instruct_model import chat_answers

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def coder_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    folder = tmp_path_factory.mktemp("coder")
    running = start_host(["--model", "qwen2.5-coder-1.5b"], folder)
    try:
        yield running
    finally:
        stop_host(running)


@pytest.fixture(scope="module")
def unnamed_coder_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """The same model as a file whose name says nothing of its family (a user's own GGUF)."""
    folder = tmp_path_factory.mktemp("unnamed-coder")
    model = folder / "my-model.gguf"
    model.symlink_to(resolve_model("qwen2.5-coder-1.5b").path)
    running = start_host(["--model", str(model)], folder)
    try:
        yield running
    finally:
        stop_host(running)


def _options(url: str, **extra: object) -> dict[str, object]:
    return {"serverUrl": url, "deadlineMs": 60_000, "lookAhead": False, **extra}


@pytest.mark.parametrize(
    ("served_as", "model_id", "prompt_format"),
    [
        ("coder_host", "qwen2.5-coder-1.5b-instruct-q4_k_m", "qwen"),  # known by its id
        # By a name that says nothing: the host reports the markers it read from the
        # GGUF's vocabulary, and Quill lays out the same prompt with them.
        ("unnamed_coder_host", "my-model", "fim"),
    ],
)
async def test_ghost_text_goes_through_its_fill_in_the_middle_tokens(
    start_client: StartClient,
    request: pytest.FixtureRequest,
    served_as: str,
    model_id: str,
    prompt_format: str,
) -> None:
    host: Host = request.getfixturevalue(served_as)
    client, _ = await start_client(_options(host.url, maxNewTokens=16))
    open_document(client, COUNTING_URI, COUNTING + "\n\nprint(digits)\n")
    result = await client.text_document_inline_completion_async(
        inline_params(COUNTING_URI, COUNTING_END)
    )
    prompt = await client.workspace_execute_command_async(
        types.ExecuteCommandParams("quill.lastPrompt", [])
    )
    assert prompt["model"] == model_id
    assert prompt["format"] == prompt_format
    assert prompt["text"].startswith("<|fim_prefix|>")
    assert prompt["text"].endswith("<|fim_suffix|>\n\nprint(digits)\n<|fim_middle|>")
    assert result is not None
    item = result.items[0]  # asked by hand: other suggestions may follow
    assert isinstance(item.insert_text, str)
    assert item.insert_text.startswith("15")


async def test_add_docstring_goes_through_its_chat_template(
    start_client: StartClient, coder_host: Host
) -> None:
    client, _ = await start_client(_options(coder_host.url), RESOLVE)
    open_document(client, URI, SOURCE)
    action = await add_docstring_action(client)
    before = chat_answers(coder_host.url)
    resolved = await client.code_action_resolve_async(action)
    await asyncio.sleep(COUNTED_WITHIN_S)
    after = chat_answers(coder_host.url)
    assert after.get("200", 0) == before.get("200", 0) + 1, after
    assert resolved.edit is not None
    tree = ast.parse(apply_edit(SOURCE, resolved.edit, 1))
    functions = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert ast.get_docstring(functions["area"]), "a docstring was asked for"


async def test_a_hover_explanation_goes_through_its_chat_template(
    start_client: StartClient, coder_host: Host
) -> None:
    client, _ = await start_client(_options(coder_host.url, hoverExplain=True))
    open_document(client, URI, SOURCE + "\nprint(area(2.0))\n")
    params = types.HoverParams(types.TextDocumentIdentifier(URI), types.Position(11, 7))
    before = chat_answers(coder_host.url)
    contents = await explained_hover(client, params)
    assert "def area(radius: float) -> float" in contents
    assert contents.split("---", 1)[-1].strip(), "the model's explanation follows"
    await asyncio.sleep(COUNTED_WITHIN_S)
    assert chat_answers(coder_host.url).get("200", 0) > before.get("200", 0)

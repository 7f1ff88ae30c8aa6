"""Quill against model servers it did not write, found from ``serverUrl`` alone:
llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``) on the packaged
Gemma GGUF, and vLLM (its CPU build, in a virtual environment of its own) on the same model
converted to a transformers folder. Completions, a code action and a hover's explanation go
through each. The first run on a machine installs vLLM and converts the model into the user
cache (``tests/model_servers.py``: a few minutes); later runs only start the server."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest
from lsprotocol import types

from tests.conftest import (
    COUNTING,
    COUNTING_END,
    COUNTING_URI,
    StartClient,
    inline_params,
    open_document,
)
from tests.lsp.test_code_actions import (
    RESOLVE,
    SOURCE,
    URI,
    add_docstring_action,
    apply_edit,
    explained_hover,
)
from tests.lsp.test_suggestions import END as SUGGESTIONS_END
from tests.lsp.test_suggestions import SOURCE as SUGGESTIONS_SOURCE
from tests.lsp.test_suggestions import URI as SUGGESTIONS_URI
from tests.model_servers import SERVERS, RunningServer, llama_server

# The module's first vLLM test also installs vLLM, converts the model and starts the server.
pytestmark = [pytest.mark.model, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """Each server on the packaged model, as a user would start it; a setup failure (no
    network for pip, a server that dies) fails the tests with the reason, never skips."""
    name: str = request.param
    log = tmp_path_factory.mktemp(name) / "server.log"
    with SERVERS[name](log) as running:
        yield running


def _options(url: str, **extra: object) -> dict[str, object]:
    return {"serverUrl": url, "deadlineMs": 30_000, "lookAhead": False, **extra}


async def test_the_dialect_is_found_and_completions_stream_through_it(
    start_client: StartClient, server: RunningServer
) -> None:
    client, _ = await start_client(_options(server.url, maxNewTokens=16, suggestions=1))
    open_document(client, COUNTING_URI, COUNTING)
    result = await client.text_document_inline_completion_async(
        inline_params(COUNTING_URI, COUNTING_END)
    )
    assert result is not None
    [item] = result.items
    assert isinstance(item.insert_text, str)
    assert item.insert_text.startswith("15")  # counting on: any model's next words
    prompt = await client.workspace_execute_command_async(
        types.ExecuteCommandParams("quill.lastPrompt", [])
    )
    assert prompt["dialect"] == server.dialect
    assert prompt["model"].endswith(server.model_suffix), prompt["model"]
    assert prompt["exactTokens"], "counted with the server's own tokenizer"


async def test_other_suggestions_branch_off_at_its_likeliest_first_tokens(
    start_client: StartClient, server: RunningServer
) -> None:
    """The next-suggestion key's answer: the server reports its likeliest first tokens
    (``logprobs``), and each other suggestion begins with one of them."""
    client, _ = await start_client(_options(server.url, maxNewTokens=16, suggestions=3))
    open_document(client, SUGGESTIONS_URI, SUGGESTIONS_SOURCE)
    result = await client.text_document_inline_completion_async(
        inline_params(SUGGESTIONS_URI, SUGGESTIONS_END)
    )
    assert isinstance(result, types.InlineCompletionList)
    shown = [str(item.insert_text) for item in result.items]
    assert 2 <= len(shown) <= 3, shown
    assert len(set(shown)) == len(shown)
    assert all(text.strip() for text in shown)


async def test_a_code_action_resolves_through_it(
    start_client: StartClient, server: RunningServer
) -> None:
    client, _ = await start_client(_options(server.url), RESOLVE)
    open_document(client, URI, SOURCE)
    action = await add_docstring_action(client)
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is not None
    new = apply_edit(SOURCE, resolved.edit, 1)
    ast.parse(new)
    assert new != SOURCE


async def test_a_hover_explanation_comes_through_it(
    start_client: StartClient, server: RunningServer
) -> None:
    client, _ = await start_client(_options(server.url, hoverExplain=True))
    open_document(client, URI, SOURCE + "\nprint(area(2.0))\n")
    params = types.HoverParams(types.TextDocumentIdentifier(URI), types.Position(11, 7))
    contents = await explained_hover(client, params)
    assert "def area(radius: float) -> float" in contents
    assert "---" in contents, "the model's explanation follows the definition"


async def test_llama_server_lays_out_fim_for_a_code_model_whose_id_names_no_family(
    start_client: StartClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Served as ``--alias coder``, Qwen2.5-Coder's family cannot be read from its id; its
    GGUF has FIM tokens, so llama.cpp's ``/infill`` lays out the prompt instead of Quill
    sending no suffix at all."""
    log = tmp_path_factory.mktemp("llama-server-coder") / "server.log"
    with llama_server(log, "qwen2.5-coder-1.5b", alias="coder") as server:
        client, _ = await start_client(_options(server.url, maxNewTokens=16))
        open_document(client, COUNTING_URI, COUNTING)
        result = await client.text_document_inline_completion_async(
            inline_params(COUNTING_URI, COUNTING_END)
        )
        prompt = await client.workspace_execute_command_async(
            types.ExecuteCommandParams("quill.lastPrompt", [])
        )
    assert prompt["model"] == "coder"
    assert prompt["dialect"] == "openai (llama.cpp)"
    assert prompt["format"] == "infill"
    assert prompt["fillInMiddle"]["prefix"].endswith(COUNTING)
    assert result is not None
    [item] = result.items
    assert isinstance(item.insert_text, str)
    assert item.insert_text.startswith("15")

"""A chat model that installs with the package: the packaged Gemma 3 270M weights with Gemma
3's own chat template added to the GGUF's metadata. Nothing is downloaded; the weights are the
base model's, so tests of chat plumbing must not judge what it writes."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

from quill_host.models import resolve_model

GEMMA3_CHAT_TEMPLATE = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
"""
"""Gemma 3's chat template, as google/gemma-3-270m-it ships it."""

_GGUF_ALIGNMENT = 32  # general.alignment's default; the packaged file sets none


def add_chat_template(source: Path, target: Path, template: str) -> None:
    """Copy a GGUF (v3) with ``tokenizer.chat_template`` added as its first key.

    Inserting a whole number of alignment units before the rest of the file keeps every
    offset after it aligned, so the tensor infos and data are copied byte for byte: the
    template is padded with a Jinja comment, which renders as nothing.
    """

    def entry(value: str) -> bytes:
        key = b"tokenizer.chat_template"
        text = value.encode()
        string_type = 8  # GGUF_TYPE_STRING
        return struct.pack(
            f"<Q{len(key)}sIQ{len(text)}s", len(key), key, string_type, len(text), text
        )

    padded = template + "{#  #}"
    padding = -len(entry(padded)) % _GGUF_ALIGNMENT
    padded = template + "{#" + " " * (2 + padding) + "#}"
    with source.open("rb") as reader, target.open("wb") as writer:
        magic, version, tensors, keys = struct.unpack("<4sIQQ", reader.read(24))
        assert (magic, version) == (b"GGUF", 3)
        writer.write(struct.pack("<4sIQQ", magic, version, tensors, keys + 1))
        writer.write(entry(padded))
        shutil.copyfileobj(reader, writer, 16 << 20)


def make_chat_gguf(folder: Path, name: str = "gemma-3-270m-chat.gguf") -> Path:
    """The packaged model with the chat template, written into ``folder``."""
    model = folder / name
    add_chat_template(resolve_model("default").path, model, GEMMA3_CHAT_TEMPLATE)
    return model

"""What a prompt knows beyond the cursor's window: the workspace's definitions, similar
code in other open buffers, and what the user edited recently; and where a name is defined.

``workspace`` owns one workspace's index (``index``, ``store``, ``symbols`` and the
tree-sitter modules under them), ``candidates`` ranks what a cursor could use,
``selection`` keeps a document's choice stable while typing, ``prompt_context`` is what
completions and actions receive, and ``quoting`` how a prompt shows a piece. ``symbols``
is the one definition extractor: the index reads it, and so do ``syntax`` (a parsed
document in string offsets, for code actions) and ``lookup`` (the definition a hover
shows); the index's ``imported_files`` is the one resolution of a file's imports.

May import the shared ground (settings, paths, redaction, gitignore, cursor, documents)
and nothing else of Quill: completions, actions and the LSP layer import it.
"""

"""What a prompt knows beyond the cursor's window: the workspace's definitions, similar
code in other open buffers, and what the user edited recently.

``workspace`` owns one workspace's index (``index``, ``store``, ``symbols`` and the
tree-sitter modules under them), ``candidates`` ranks what a cursor could use,
``selection`` keeps a document's choice stable while typing, ``prompt_context`` is what
completions and actions receive, and ``quoting`` how a prompt shows a piece.

May import the shared ground (settings, paths, redaction, gitignore, cursor) and nothing
else of Quill: completions, actions and the LSP layer import it.
"""

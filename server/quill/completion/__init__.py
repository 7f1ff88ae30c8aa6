"""Inline completion: what an editor's ghost text is made of, request by request.

``service`` takes the editor's requests (many, overlapping, often abandoned) and owns the
deadline, the suggestion cache and warming; ``pipeline`` runs one suggestion's stages in
order: the gate (``gate``: whether to ask, and for how much), the prompt (``prompt`` fits
the file window of ``file_window`` and the context into a budget, laid out by
``templates``), the model call, and the post-processing (``postprocess``), with every
syntax fact those stages need in ``syntax``.

May import ``quill.context``, ``quill.backends`` and the shared ground (settings,
documents, cursor, redaction); never ``quill.lsp`` or ``quill.actions``.
"""

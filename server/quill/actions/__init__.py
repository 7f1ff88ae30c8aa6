"""Code actions, explanations and hover's explanation: edits and prose the model writes
on request, not while typing.

``listing`` says which actions apply where (no model call); ``resolve`` has the model
write an action's edit; ``prompts`` holds the prompts per kind of model, ``context`` the
workspace definitions put in front of them, ``explain`` the explanations, and
``model_call`` the one way all of them call the model.

May import ``quill.context``, ``quill.backends`` and the shared ground (settings,
documents, redaction, edits); never ``quill.lsp`` or ``quill.completion``.
"""

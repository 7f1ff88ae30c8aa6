"""Quill: an AI language server whose completions come from a model you host."""

__version__ = "0.1.0"

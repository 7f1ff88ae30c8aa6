"""The LSP face of Quill: routing, and one module per feature."""

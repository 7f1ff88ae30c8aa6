"""Quill's embedded model host: a TGI-compatible HTTP server around a local engine.

The language server never imports this package; it starts `quill host` (or
`python -m quill_host`) as a process and talks the TGI HTTP API to it. Only `quill doctor`
reads the host's catalog and machine facts in process.
"""

__version__ = "0.1.0"

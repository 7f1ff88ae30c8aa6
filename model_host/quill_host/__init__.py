"""Quill's embedded model host: a TGI-compatible HTTP server around a local engine.

The language server does not run the host in its process: it starts `quill host` (or
`python -m quill_host`) as a process and talks the TGI HTTP API to it. In process, only
`quill doctor` reads the host's catalog and machine facts, and the client reads failures by the
host's own `error_type` table (`error_types`, standard library only); so this package's
`__init__` stays free of imports.
"""

__version__ = "0.1.0"

"""Model-server dialects: TGI (and Quill's own host) and the OpenAI-compatible servers.

Owns everything that knows a route or a JSON shape: ``base`` (the ``ModelServer``
interface every dialect implements), ``http`` (the shared connection and error mapping),
one module per dialect, and ``detect`` (which dialect a URL speaks). Imports nothing of
Quill but its own modules; the rest of Quill imports ``base`` and ``detect``.
"""

"""Model servers: the dialects Quill speaks, and everything else that knows a server.

``base`` is the ``ModelServer`` interface every dialect implements; ``http`` the shared
connection and error mapping; one module per dialect (``tgi``, ``openai``, ``ollama``);
``detect`` says which dialect a URL speaks; ``endpoint`` is the server the settings name,
found or started (``embedded_host`` starts Quill's own); ``tokens`` and ``tokenizer_file``
count tokens as the server's model does; ``answers`` reads a streamed answer;
``model_kind`` says what a model id tells about its prompts.

May import only the shared ground (settings, paths, redaction); the rest of Quill imports
this package.
"""

"""KV-cache bookkeeping that does not depend on an engine: prefix matching and slots."""

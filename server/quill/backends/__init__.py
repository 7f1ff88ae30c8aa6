"""Wire clients for model servers."""

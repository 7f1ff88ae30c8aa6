"""One module per LSP feature; each handler is params → pure helpers → lsprotocol result."""

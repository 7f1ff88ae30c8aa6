"""Editor clients: their files, and real editors running them (headless Neovim)."""

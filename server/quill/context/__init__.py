"""What a prompt knows beyond the cursor's window: the workspace's definitions, similar
code in other open buffers, and what the user edited recently."""

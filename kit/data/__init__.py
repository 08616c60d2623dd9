"""Where data comes from: the NSMC release files, token ids encoded once (cached), length statistics."""

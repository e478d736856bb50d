"""Tokens, words and writing systems (pure)."""

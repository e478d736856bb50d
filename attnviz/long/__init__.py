"""Streaming extraction for long inputs: chunks, reducer, bounded results."""

"""The command line: the parser and one module per command."""

from __future__ import annotations

import sys


def fail(message: str) -> int:
    """A command's problem as one line on stderr, and the exit status 2 it returns."""
    print(f"error: {message}", file=sys.stderr)
    return 2

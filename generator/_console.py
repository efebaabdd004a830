"""Output: rich on a terminal, plain lines elsewhere, errors always on stderr."""

import sys
from functools import cache

from rich.console import Console


@cache
def console() -> Console:
    return Console(highlight=False)


@cache
def error_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()

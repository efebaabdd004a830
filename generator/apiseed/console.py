"""Output: rich on a terminal, plain lines elsewhere, errors always on stderr.

Consoles are made per call (cheap), so each command sees the current terminal and
environment (COLUMNS, NO_COLOR) rather than those of the first call in the process.
"""

import sys

from rich.console import Console


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def error_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()

"""Pytest's assertion rewriting, done once per test file's content for the whole check run.

Pytest parses, rewrites and compiles every test module each time it is imported, unless a
``.pyc`` of the rewrite sits beside the source. Each variant is a new tree, so each test run
pays for that again, although most test files are the same in many variants. Here the rewritten
code is kept in a folder shared by the run's workers, keyed by the source's content and by the
one setting that changes the rewrite (``enable_assertion_pass_hook``); a hit only gets its file
name set to the module's path.
"""

import hashlib
import importlib.util
import marshal
import os
import types
from pathlib import Path
from typing import Any

TESTED = {"pytest": ">=9.2.0,<9.3"}


def missing() -> list[str]:
    import _pytest.assertion.rewrite as rewrite

    found = callable(getattr(rewrite, "_rewrite_test", None))
    return [] if found else ["_pytest.assertion.rewrite._rewrite_test"]


def apply(scratch: Path) -> None:
    """Make this process's pytest keep its assertion rewrites under ``scratch``, and reuse them."""
    import _pytest.assertion.rewrite as rewrite

    folder = scratch / "rewrites"
    rewrite_test: Any = rewrite._rewrite_test

    def cached(fn: Path, config: Any) -> tuple[bytes, types.CodeType]:
        source = fn.read_bytes()
        hook = b"1" if config.getini("enable_assertion_pass_hook") else b"0"
        path = folder / hashlib.sha256(hook + source).hexdigest()
        try:
            code = marshal.loads(path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            source_hash, code = rewrite_test(fn, config)
            folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}")
            partial.write_bytes(marshal.dumps(code))
            partial.replace(path)  # whole or absent, for the other workers
            return source_hash, code
        return importlib.util.source_hash(source), _with_filename(code, str(fn))

    rewrite._rewrite_test = cached


def _with_filename(code: types.CodeType, filename: str) -> types.CodeType:
    constants = tuple(
        _with_filename(constant, filename) if isinstance(constant, types.CodeType) else constant
        for constant in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=constants)

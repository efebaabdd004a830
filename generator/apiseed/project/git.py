"""Running git: every call captured, every failure a one-line error."""

import subprocess
from pathlib import Path

from apiseed.errors import GitError


def git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    """Run ``git ARGS`` in ``cwd`` and return its output; a non-zero exit raises GitError."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["exit code " + str(result.returncode)])[-1]
        raise GitError(f"git {args[0]} failed in {cwd}: {reason}", reason)
    return result.stdout


def paths(output: str) -> list[str]:
    """The entries of a ``-z`` listing."""
    return [entry for entry in output.split("\0") if entry]

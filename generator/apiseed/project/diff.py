"""What an update would change: the update run in a throw-away clone, shown as a git diff."""

import dataclasses
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apiseed.project.git import git
from apiseed.project.update import UpdateResult, open_project, update


def diff(
    path: Path,
    data: Mapping[str, Any],
    *,
    to: str | None = None,
    trust: bool = False,
    user_defaults: Mapping[str, Any] | None = None,
    color: bool = False,
) -> tuple[str, UpdateResult]:
    """The patch ``update`` would make to the project's last commit, and its result; the
    project itself is not touched (uncommitted changes are not part of the comparison)."""
    project = open_project(path)
    top = Path(git(project.path, "rev-parse", "--show-toplevel").strip())
    prefix = git(project.path, "rev-parse", "--show-prefix").strip()
    with tempfile.TemporaryDirectory(prefix="apiseed-diff-") as scratch:
        clone = Path(scratch) / top.name
        git(Path(scratch), "clone", "--quiet", "--", str(top), str(clone))
        copy = clone / prefix
        result = update(copy, data, to=to, trust=trust, user_defaults=user_defaults)
        git(copy, "add", "--all", "--", ".")
        patch = git(
            copy,
            "diff",
            "--cached",
            "--relative",
            f"--color={'always' if color else 'never'}",
            "HEAD",
        )
    return patch, dataclasses.replace(result, project=project.path)

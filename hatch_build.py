"""Wheel build hook: ship the template's release history, so updates across releases work offline.

Every ``v*`` tag of this repository (a PEP 440 release of the template) becomes a commit holding
only the template's files (``copier.yml``, ``questions.jinja``, ``matrix.yml``, ``template/``),
tagged alike and chained in version order so that git stores each release as a small delta; the
tags are written as a git bundle to ``apiseed/_template/releases.bundle``. apiseed fetches from
it the versions it needs to update a project (``apiseed.project.source``). A build outside a git
checkout, or in one without release tags, ships no bundle: the bundled release alone is then
available offline.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from packaging.version import InvalidVersion, Version

BUNDLE = "apiseed/_template/releases.bundle"
TEMPLATE_PATHS = ("copier.yml", "questions.jinja", "matrix.yml", "template")


def git(cwd: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=apiseed", "-c", "user.email=apiseed@localhost", *args],
        cwd=cwd,
        input=stdin,
        env={**os.environ, **(env or {})},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def releases(root: Path) -> list[str]:
    """The repository's release tags, oldest first."""
    found = {}
    for tag in git(root, "tag", "--list", "v*").split():
        try:
            found[Version(tag)] = tag
        except InvalidVersion:
            continue
    return [found[version] for version in sorted(found)]


def write_bundle(root: Path, into: Path) -> bool:
    """Write the template-only release history of the repository at ``root`` to ``into``."""
    if not (root / ".git").exists() or shutil.which("git") is None:
        return False
    tags = releases(root)
    if not tags:
        return False
    history = into.parent / "history.git"
    git(into.parent, "init", "--quiet", "--bare", str(history))
    git(history, "fetch", "--quiet", str(root), *(f"refs/tags/{tag}" for tag in tags))
    parent: list[str] = []
    for tag in tags:
        entries = git(root, "ls-tree", tag, "--", *TEMPLATE_PATHS)
        tree = git(history, "mktree", stdin=entries + "\n")
        date = git(root, "log", "-1", "--format=%cI", tag)
        made = git(
            history,
            "commit-tree",
            tree,
            *parent,
            "-m",
            f"template {tag}",
            env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
        )
        git(history, "tag", "--force", tag, made)
        parent = ["-p", made]
    git(history, "bundle", "create", "--quiet", str(into), *tags)
    return True


class ReleaseHistoryHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        self._scratch = Path(tempfile.mkdtemp(prefix="apiseed-releases-"))
        bundle = self._scratch / "releases.bundle"
        if write_bundle(Path(self.root), bundle):
            build_data["force_include"][str(bundle)] = BUNDLE

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

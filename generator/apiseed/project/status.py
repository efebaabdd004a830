"""Where a generated project stands: its template source and version, whether a newer release
exists, and what its owners changed compared with what its answers render at that version.

A newer release is looked up the way ``apiseed update`` would go: for apiseed's repository, the
release bundled with this apiseed (offline; upgrading apiseed is how newer ones arrive); for any
other repository (a company fork, a git URL), its newest release tag. Drift is measured against
the recorded version rendered afresh with the recorded answers, over the files git would track:
what the generated ``.gitignore`` ignores (a ``.env``, caches, virtual environments) is not part
of it, and neither is ``.git``.
"""

import filecmp
import json
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from apiseed.errors import ApiseedError, GitError, NotAProjectError
from apiseed.project.git import git, paths
from apiseed.project.render import render_version
from apiseed.project.source import (
    ANSWERS_FILE,
    REPOSITORY,
    bundled_tag,
    latest_tag,
    read_answers,
    serving,
    version_of,
)


@dataclass(frozen=True)
class Drift:
    """Files (relative to the project) that differ from the recorded version's rendering."""

    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.removed)


@dataclass(frozen=True)
class Status:
    """One project's standing; ``error`` says why a field could not be worked out."""

    path: Path
    source: str | None = None
    version: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    latest: str | None = None
    behind: bool | None = None
    """None when the newest release could not be found (see ``error``)."""
    drift: Drift | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Neither behind nor in doubt: what a CI gate lets through."""
        return self.error is None and self.behind is False

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "source": self.source,
            "version": self.version,
            "latest": self.latest,
            "behind": self.behind,
            "answers": self.answers,
            "drift": None
            if self.drift is None
            else {
                "changed": list(self.drift.changed),
                "added": list(self.drift.added),
                "removed": list(self.drift.removed),
            },
            "error": self.error,
        }


class Renderings:
    """Each template version rendered once per set of answers, into ``scratch``: projects made
    alike (a fleet often shares its answers) are compared with the same tree."""

    def __init__(self, scratch: Path) -> None:
        self._scratch = scratch
        self._made: dict[str, Path] = {}

    def of(self, source: str, version: str, answers: dict[str, Any]) -> Path:
        key = json.dumps([source, version, answers], sort_keys=True, default=str)
        if key not in self._made:
            rendered = self._scratch / str(len(self._made)) / "project"
            with serving(source, [version]):
                render_version(version_of(source, version), rendered, answers, defaults=True)
            git(rendered, "init", "--quiet")
            self._made[key] = rendered
        return self._made[key]


def status(path: Path, renderings: Renderings | None = None) -> Status:
    """The standing of the project at ``path``; problems are reported in it, never raised.
    ``renderings`` shares the rendered template versions between calls."""
    if renderings is None:
        with tempfile.TemporaryDirectory(prefix="apiseed-status-") as scratch:
            return status(path, Renderings(Path(scratch)))
    path = path.absolute()
    answers = read_answers(path)
    if not answers:
        return Status(path, error=f"{path} is not a generated project: it has no {ANSWERS_FILE}")
    source, version = answers.get("_src_path"), answers.get("_commit")
    own = {name: value for name, value in answers.items() if not name.startswith("_")}
    if not source or not version:
        return Status(
            path,
            answers=own,
            error=f"{path / ANSWERS_FILE} records no template version (_src_path and _commit)",
        )
    source, version = str(source), str(version)
    found = Status(path, source, version, own)
    errors = []
    try:
        latest = newest(source, version)
        found = replace(found, latest=latest, behind=is_behind(version, latest))
    except ApiseedError as error:
        errors.append(f"newest release unknown: {error}")
    try:
        rendered = renderings.of(source, version, own)
        found = replace(found, drift=drift(path, rendered))
    except ApiseedError as error:
        errors.append(f"drift unknown: {error}")
    except Exception as error:  # Copier failing to render the recorded version
        reason = (str(error).strip().splitlines() or [""])[0]
        errors.append(f"drift unknown: {type(error).__name__}: {reason}")
    return replace(found, error="; ".join(errors) or None)


def newest(source: str, current: str) -> str:
    """The newest release ``apiseed update`` knows of for a project at ``current``."""
    if source == REPOSITORY:
        return bundled_tag()
    return latest_tag(source)


def is_behind(current: str, latest: str) -> bool:
    """Whether ``latest`` is newer than ``current``; a commit that is not a release is behind
    any release other than itself."""
    if latest == "HEAD":  # the repository has no release tags
        return False
    try:
        return Version(latest) > Version(current)
    except InvalidVersion:
        return current != latest


def drift(path: Path, rendered: Path) -> Drift:
    """Compare the project's files with its template version ``rendered`` afresh."""
    project_files = _listed(path)
    expected = set(paths(git(rendered, "ls-files", "--others", "--exclude-standard", "-z")))
    present = project_files - _ignored_by(rendered, project_files)
    changed = sorted(
        name
        for name in present & expected
        if not filecmp.cmp(path / name, rendered / name, shallow=False)
    )
    return Drift(
        changed=tuple(changed),
        added=tuple(sorted(present - expected)),
        removed=tuple(sorted(expected - present)),
    )


def _listed(path: Path) -> set[str]:
    """The project's files git tracks or would track (its own .gitignore applied)."""
    try:
        listing = git(
            path, "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "."
        )
    except GitError:
        raise NotAProjectError(f"{path} is not in a git repository") from None
    return {name for name in paths(listing) if (path / name).is_file()}


def _ignored_by(repository: Path, names: set[str]) -> set[str]:
    """Which of ``names`` the .gitignore files of ``repository`` ignore."""
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin", "-z"],
        cwd=repository,
        input="\0".join(sorted(names)),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):  # 1: none of them is ignored
        raise GitError(f"git check-ignore failed in {repository}: {result.stderr.strip()}")
    return set(paths(result.stdout))

"""Updating a generated project with Copier, safely: all or nothing, and honest about conflicts.

The project must be committed, so that the update can be reviewed with ``git diff`` and undone;
if Copier fails, the project is put back exactly as it was, git-ignored files included.
Afterwards every file that still needs the user's decision is reported: files with inline
conflict markers, and files the new version no longer has but the user had changed (kept, where
Copier would delete them); git-ignored files it no longer has are kept when they hold local data.
"""

import filecmp
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiseed.errors import (
    DirtyProjectError,
    GitError,
    NotAProjectError,
    UpdateError,
)
from apiseed.project.answers import checked
from apiseed.project.git import git, paths
from apiseed.project.render import as_invalid_answer, check_copier_settings, render_version
from apiseed.project.source import (
    ANSWERS_FILE,
    newest_release,
    read_answers,
    serving,
    version_of,
)

CONFLICT_MARKERS = (b"<<<<<<< before updating", b">>>>>>> after updating")


@dataclass(frozen=True)
class UpdateResult:
    """What an update did; paths are relative to the project."""

    project: Path
    from_ref: str
    to_ref: str
    changed: tuple[str, ...]
    """Every file the update added, changed or deleted."""
    conflicts: tuple[str, ...]
    """Files holding inline conflict markers to resolve."""
    kept: tuple[str, ...]
    """Files the new version drops but the user had changed: kept, for the user to decide."""
    local: tuple[str, ...] = ()
    """Git-ignored files the new version no longer makes, holding local data (a generated
    .env's secrets, a log): kept, as git never touches ignored files."""

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.kept


@dataclass(frozen=True)
class Project:
    path: Path
    answers: dict[str, Any]

    @property
    def source(self) -> str:
        return str(self.answers["_src_path"])

    @property
    def ref(self) -> str:
        return str(self.answers["_commit"])

    @property
    def dirty(self) -> bool:
        return bool(git(self.path, "status", "--porcelain", "--untracked-files=all", "--", "."))


def open_project(path: Path) -> Project:
    """A generated project under git, with the template version it was made from."""
    path = path.absolute()
    answers = read_answers(path)
    if not answers:
        raise NotAProjectError(f"{path} is not a generated project: it has no {ANSWERS_FILE}")
    if not answers.get("_src_path") or not answers.get("_commit"):
        raise NotAProjectError(
            f"{path / ANSWERS_FILE} records no template version (_src_path and _commit), "
            "so there is nothing to update from"
        )
    try:
        git(path, "rev-parse", "--verify", "--quiet", "HEAD")
    except GitError:
        raise NotAProjectError(
            f"{path} is not a committed git repository: run git init, git add -A and git commit"
        ) from None
    return Project(path, answers)


def update(
    path: Path,
    data: Mapping[str, Any],
    *,
    to: str | None = None,
    trust: bool = False,
    user_defaults: Mapping[str, Any] | None = None,
) -> UpdateResult:
    """Bring the project at ``path`` to template version ``to`` (default: the newest release),
    with ``data`` changing answers in the same step. A failure leaves the project as it was."""
    project = open_project(path)
    if project.dirty:
        raise DirtyProjectError(
            f"{project.path} has uncommitted changes; commit or stash them first (git status)"
        )
    target_ref = to or newest_release(project.source, project.ref)
    with serving(project.source, [project.ref, target_ref]):
        target = version_of(project.source, target_ref)
        asked = target.questions()
        data = checked(asked, data)
        user_defaults = checked(asked, user_defaults or {}, "APISEED_DEFAULTS")
        git_dir = Path(git(project.path, "rev-parse", "--absolute-git-dir").strip())
        with tempfile.TemporaryDirectory(prefix="apiseed-local-", dir=git_dir) as scratch:
            local = LocalFiles.save(project.path, Path(scratch))
            try:
                _run_copier_update(
                    project, data, target.ref, trust=trust, user_defaults=user_defaults
                )
                kept, kept_local = _keep_changed_files(project, local)
            except BaseException:
                _restore(project.path, local)
                raise
    changed = _changed(project.path)
    return UpdateResult(
        project=project.path,
        from_ref=project.ref,
        to_ref=str(target.ref),
        changed=changed,
        conflicts=tuple(name for name in changed if _has_conflict(project.path / name)),
        kept=kept,
        local=kept_local,
    )


def _run_copier_update(
    project: Project,
    data: Mapping[str, Any],
    ref: str | None,
    *,
    trust: bool,
    user_defaults: Mapping[str, Any] | None,
) -> None:
    import copier
    from copier.errors import UnsafeTemplateError, UserMessageError

    check_copier_settings()
    try:
        copier.run_update(
            str(project.path),
            data=dict(data),
            user_defaults=dict(user_defaults or {}),
            vcs_ref=ref,
            defaults=True,
            overwrite=True,
            conflict="inline",
            quiet=True,
            unsafe=trust,
        )
    except UnsafeTemplateError as error:
        reason = str(error).splitlines()[0]
        raise UpdateError(
            f"{reason.rstrip('.')} (template {ref}); "
            "review its copier.yml, then re-run with --trust"
        ) from None
    except UserMessageError as error:
        raise UpdateError(" ".join(str(error).split())) from None
    except ValueError as error:
        invalid = as_invalid_answer(error)
        if invalid is None:
            raise _failed(error) from error
        raise invalid from None
    except Exception as error:
        raise _failed(error) from error


def _failed(error: Exception) -> UpdateError:
    reason = (str(error).strip().splitlines() or [""])[0]
    return UpdateError(f"the update failed ({type(error).__name__}: {reason}); nothing was changed")


@dataclass(frozen=True)
class LocalFiles:
    """The project's git-ignored entries, and its git-ignored files linked aside: git cannot
    give those back if the update deletes them."""

    listing: frozenset[str]
    saved: dict[str, Path]

    @classmethod
    def save(cls, project: Path, into: Path) -> "LocalFiles":
        listing = frozenset(_ignored(project))
        saved: dict[str, Path] = {}
        for name in sorted(listing):
            file = project / name
            if file.is_file() and not file.is_symlink():
                saved[name] = into / str(len(saved))
                try:
                    os.link(file, saved[name])
                except OSError:
                    shutil.copy2(file, saved[name])
        return cls(listing, saved)

    def gone(self, project: Path) -> list[str]:
        return [name for name in self.saved if not (project / name).exists()]

    def put_back(self, project: Path, names: Iterable[str]) -> None:
        for name in names:
            shutil.copy2(self.saved[name], project / name)


def _keep_changed_files(
    project: Project, local: LocalFiles
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Put back the files the update deleted that differ from what the old version generated
    (tracked ones, then git-ignored ones): they hold the user's work, or data made for this
    copy such as a generated .env's secrets. Copier deletes them without a word."""
    deleted = paths(git(project.path, "ls-files", "--deleted", "-z", "--", "."))
    gone = local.gone(project.path)
    if not deleted and not gone:
        return (), ()
    old_answers = {key: value for key, value in project.answers.items() if key[0] != "_"}
    with tempfile.TemporaryDirectory(prefix="apiseed-old-") as scratch:
        old = Path(scratch) / project.path.name
        render_version(version_of(project.source, project.ref), old, old_answers, defaults=True)
        # Copier deletes only what the old version generated (anything else is a migration's
        # doing); of that, what no longer matches the old version holds the user's work.
        kept = [
            name
            for name in deleted
            if (old / name).is_file()
            and git(project.path, "rev-parse", f"HEAD:./{name}")
            != git(project.path, "hash-object", "--", str(old / name))
        ]
        kept_local = [
            name
            for name in gone
            if (old / name).is_file()
            and not filecmp.cmp(local.saved[name], old / name, shallow=False)
        ]
    if kept:
        git(project.path, "checkout", "HEAD", "--", *kept)
    local.put_back(project.path, kept_local)
    return tuple(kept), tuple(kept_local)


def _changed(path: Path) -> tuple[str, ...]:
    tracked = paths(git(path, "diff", "--name-only", "--relative", "-z", "HEAD", "--", "."))
    added = paths(git(path, "ls-files", "--others", "--exclude-standard", "-z", "--", "."))
    return tuple(sorted({*tracked, *added}))


def _has_conflict(file: Path) -> bool:
    if not file.is_file():
        return False
    with file.open("rb") as lines:
        return any(line.rstrip() in CONFLICT_MARKERS for line in lines)


def _ignored(path: Path) -> set[str]:
    listing = git(
        path, "ls-files", "--others", "--ignored", "--exclude-standard", "--directory", "-z"
    )
    return set(paths(listing))


def _restore(path: Path, local: LocalFiles) -> None:
    """Put a project that was clean at HEAD back to HEAD, with its git-ignored files."""
    git(path, "reset", "--quiet", "--", ".")
    git(path, "checkout", "--quiet", "HEAD", "--", ".")
    git(path, "clean", "-d", "--force", "--quiet", "--", ".")
    for name in _ignored(path) - local.listing:
        target = path / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    local.put_back(path, local.gone(path))

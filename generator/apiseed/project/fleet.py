"""Many projects at once: their status, and updates each on a branch of its own.

An update of the fleet never touches what is checked out: each project is updated in a
temporary git worktree of its last commit, the result is committed there and becomes the branch
``apiseed/update-<version>`` (with the project's folder in the name when it lives in a subfolder
of a larger repository). The branch is for review, as a pull request; the project's own branch,
working tree and index stay as they were, whatever happens to the update.

Projects run in parallel, in forked worker processes (Copier changes process-wide state: the
environment git runs in, the working directory of its commands), at most ``jobs`` at a time;
projects of the same repository run one after the other in the same worker, as git's
worktrees and branches are shared by them. One project failing is one line in the summary.
"""

import json
import multiprocessing
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from apiseed.errors import ApiseedError, DataFileError, GitError
from apiseed.project.git import git
from apiseed.project.source import newest_release, read_answers
from apiseed.project.status import Drift, Renderings, Status, status
from apiseed.project.update import open_project, update

if TYPE_CHECKING:
    from rich.table import Table

Outcome = Literal["updated", "conflicts", "current", "failed"]

# Commits are made by the user running apiseed; when git knows no one, by apiseed.
_IDENTITY = ("-c", "user.name=apiseed", "-c", "user.email=apiseed@localhost")


def read_paths(arguments: Iterable[str], from_file: Path | None = None) -> list[Path]:
    """Project folders from the command line: each argument a folder, or ``@FILE`` naming a
    file that lists them (one per line; blank lines and ``#`` comments skipped; relative paths
    are relative to the file's folder), and ``from_file`` read the same way."""
    found: list[Path] = []
    listed = [*arguments, *([f"@{from_file}"] if from_file is not None else [])]
    for argument in listed:
        if not argument.startswith("@"):
            found.append(Path(argument))
            continue
        listing = Path(argument[1:])
        try:
            lines = listing.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or error
            raise DataFileError(f"cannot read the list of projects {listing}: {reason}") from None
        for line in lines:
            entry = line.split("#", 1)[0].strip()
            if entry:
                found.append(listing.parent / Path(entry).expanduser())
    return list(dict.fromkeys(Path(os.path.normpath(path.absolute())) for path in found))


@dataclass(frozen=True)
class FleetResult:
    """What ``apiseed update`` did to one project of a fleet; paths relative to the project."""

    path: Path
    outcome: Outcome
    from_ref: str | None = None
    to_ref: str | None = None
    branch: str | None = None
    conflicts: tuple[str, ...] = ()
    """Files with inline conflict markers, and files the new version drops but the owners
    changed: both committed as they are, for the pull request's reviewer to resolve."""
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "outcome": self.outcome,
            "from": self.from_ref,
            "to": self.to_ref,
            "branch": self.branch,
            "conflicts": list(self.conflicts),
            "reason": self.reason,
        }


def statuses(projects: Sequence[Path], *, jobs: int) -> list[Status]:
    """The status of each project, in the order given."""
    alike: dict[str, list[Path]] = {}
    for project in projects:
        answers = read_answers(project)
        key = json.dumps(answers, sort_keys=True, default=str) if answers else str(project)
        alike.setdefault(key, []).append(project)
    groups = list(alike.values())
    finished = {found.path: found for found in _run(_statuses, groups, jobs)}
    return [finished[project.absolute()] for project in projects]


def update_all(
    projects: Sequence[Path],
    data: Mapping[str, Any],
    *,
    jobs: int,
    to: str | None = None,
    trust: bool = False,
    user_defaults: Mapping[str, Any] | None = None,
) -> list[FleetResult]:
    """Update each project on a branch of its own; results in the order given."""
    options = {"data": dict(data), "to": to, "trust": trust, "user_defaults": user_defaults}
    by_repository: dict[str, list[Path]] = {}
    for project in projects:
        by_repository.setdefault(_repository(project), []).append(project)
    tasks = [(group, options) for group in by_repository.values()]
    finished = {result.path: result for result in _run(_updates, tasks, jobs)}
    return [finished[project.absolute()] for project in projects]


def _repository(project: Path) -> str:
    try:
        # Relative to the project (".git", "../.git"): resolved there, not in this process's
        # working directory.
        return str((project / git(project, "rev-parse", "--git-common-dir").strip()).resolve())
    except (GitError, OSError):
        return str(project)  # not in git: fails on its own, in its own task


def _run(work: Callable[[Any], list[Any]], tasks: Sequence[Any], jobs: int) -> Iterator[Any]:
    """``work`` on each task, ``jobs`` at a time in forked workers (in this process for one,
    or where there is no ``fork``); yields the items of each task's list as it finishes."""
    if jobs <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for items in map(work, tasks):
            yield from items
        return
    import copier  # noqa: F401 -- imported once here, not once per worker

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
        futures = [pool.submit(work, task) for task in tasks]
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            yield from future.result()


def _statuses(group: list[Path]) -> list[Status]:
    with tempfile.TemporaryDirectory(prefix="apiseed-status-") as scratch:
        renderings = Renderings(Path(scratch))
        return [status(project, renderings) for project in group]


def _updates(task: tuple[list[Path], dict[str, Any]]) -> list[FleetResult]:
    group, options = task
    return [update_on_branch(project, **options) for project in group]


def update_on_branch(
    path: Path,
    data: Mapping[str, Any],
    *,
    to: str | None = None,
    trust: bool = False,
    user_defaults: Mapping[str, Any] | None = None,
) -> FleetResult:
    """Update one project on a new branch, leaving its checkout alone; never raises for a
    problem of the project's own (it is the result's ``reason``)."""
    path = path.absolute()
    try:
        project = open_project(path)
        if project.dirty:
            return FleetResult(path, "failed", project.ref, reason="uncommitted changes")
        target = to or newest_release(project.source, project.ref)
        if target == project.ref and not data:
            return FleetResult(path, "current", project.ref, target)
        return _update_in_worktree(path, project.ref, target, data, trust, user_defaults)
    except ApiseedError as error:
        return FleetResult(path, "failed", reason=" ".join(str(error).split()))
    except Exception as error:  # a bug, or a broken repository: this project only
        reason = " ".join(str(error).split()) or type(error).__name__
        return FleetResult(path, "failed", reason=f"{type(error).__name__}: {reason}")


def _update_in_worktree(
    path: Path,
    from_ref: str,
    target: str,
    data: Mapping[str, Any],
    trust: bool,
    user_defaults: Mapping[str, Any] | None,
) -> FleetResult:
    prefix = git(path, "rev-parse", "--show-prefix").strip()
    branch = branch_name(target, prefix)
    with tempfile.TemporaryDirectory(prefix="apiseed-fleet-") as scratch:
        worktree = Path(scratch) / "worktree"
        git(path, "worktree", "add", "--quiet", "--detach", str(worktree), "HEAD")
        try:
            copy = worktree / prefix
            result = update(copy, data, to=target, trust=trust, user_defaults=user_defaults)
            if not result.changed:
                return FleetResult(path, "current", from_ref, result.to_ref)
            conflicts = (*result.conflicts, *result.kept)
            git(copy, "add", "--all", "--", ".")
            message = commit_message(prefix, result.from_ref, result.to_ref, conflicts)
            git(worktree, *_identity(worktree), "commit", "--quiet", "--no-verify", "-m", message)
            made = git(worktree, "rev-parse", "HEAD").strip()
            problem = _place_branch(path, branch, made)
        finally:
            git(path, "worktree", "remove", "--force", str(worktree))
            shutil.rmtree(worktree, ignore_errors=True)
    if problem:
        return FleetResult(path, "failed", from_ref, target, branch, conflicts, problem)
    outcome: Outcome = "conflicts" if conflicts else "updated"
    return FleetResult(path, outcome, from_ref, result.to_ref, branch, conflicts)


def branch_name(target: str, prefix: str) -> str:
    """``apiseed/update-<version>``, plus the project's folder when it is not the repository's
    root (two projects of one repository get two branches)."""
    name = f"update-{target}"
    folder = prefix.strip("/").replace("/", "-")
    if folder:
        name += f"-{folder}"
    return "apiseed/" + re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")


def commit_message(prefix: str, from_ref: str, to_ref: str, conflicts: Sequence[str]) -> str:
    where = f" of {prefix.rstrip('/')}" if prefix else ""
    lines = [f"Update the template{where} from {from_ref} to {to_ref}", ""]
    lines.append("Made by apiseed update; review it like any change.")
    if conflicts:
        lines += ["", "Conflicts to resolve (<<<<<<< markers, or a file the new version drops):"]
        lines += [f"- {name}" for name in conflicts]
    return "\n".join(lines) + "\n"


def _identity(repository: Path) -> tuple[str, ...]:
    try:
        git(repository, "var", "GIT_AUTHOR_IDENT")
        git(repository, "var", "GIT_COMMITTER_IDENT")
    except GitError:
        return _IDENTITY
    return ()


def _place_branch(path: Path, branch: str, commit: str) -> str | None:
    """Create ``branch`` at ``commit``; an existing branch with the same files is the same
    update made before and stays; one with other files is someone's work: kept, and reported."""
    try:
        existing = git(path, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{tree}}")
    except GitError:
        git(path, "branch", "--", branch, commit)
        return None
    if existing.strip() == git(path, "rev-parse", f"{commit}^{{tree}}").strip():
        return None
    return (
        f"branch {branch} already exists with other changes; "
        f"merge or delete it (git branch -D {branch}) and run the update again"
    )


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def status_table(found: Sequence[Status]) -> "Table":
    """One row per project: where its template comes from, its version against the newest,
    its answers (with several projects, those that differ between them) and its drift."""
    from rich.table import Table
    from rich.text import Text

    table = Table("project", "template", "version", "latest", "answers", "drift")
    for column in table.columns:
        column.overflow = "fold"
    shown = _varying([each.answers for each in found if each.version is not None])
    for each in found:
        if each.version is None:
            table.add_row(Text(_shown_path(each.path)), *(Text("-") for _ in range(4)), "error")
            continue
        if each.behind is None:
            latest = Text("?", style="yellow")
        elif each.behind:
            latest = Text(f"{each.latest} (behind)", style="bold yellow")
        else:
            latest = Text(f"{each.latest} (current)", style="green")
        answers = (f"{name}={_shown(each.answers.get(name))}" for name in shown)
        table.add_row(
            Text(_shown_path(each.path)),
            Text(str(each.source)),
            Text(each.version),
            latest,
            Text("\n".join(answers)),
            Text(_drift_cell(each.drift)),
        )
    return table


def _varying(answers: Sequence[dict[str, Any]]) -> list[str]:
    """The questions worth a column: all of one project's, those that differ among several."""
    names = list(dict.fromkeys(name for each in answers for name in each))
    if len(answers) < 2:
        return names
    return [name for name in names if len({_shown(each.get(name)) for each in answers}) > 1]


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


def _drift_cell(drift: Drift | None) -> str:
    if drift is None:
        return "?"
    if not drift:
        return "none"
    parts = []
    for kind, files in (
        ("changed", drift.changed),
        ("added", drift.added),
        ("removed", drift.removed),
    ):
        if files:
            more = f" +{len(files) - 3}" if len(files) > 3 else ""
            parts.append(f"{kind}: {', '.join(files[:3])}{more}")
    return "; ".join(parts)


def update_table(results: Sequence[FleetResult]) -> "Table":
    """One row per project: what happened, on which branch, and what is left to resolve."""
    from rich.table import Table
    from rich.text import Text

    styles = {"updated": "green", "conflicts": "yellow", "current": "", "failed": "bold red"}
    labels = {"current": "already current"}
    table = Table("project", "outcome", "from", "to", "branch", "conflicts / reason")
    for column in table.columns:
        column.overflow = "fold"
    for result in results:
        detail = result.reason or "\n".join(result.conflicts)
        table.add_row(
            Text(_shown_path(result.path)),
            Text(labels.get(result.outcome, result.outcome), style=styles[result.outcome]),
            Text(result.from_ref or "-"),
            Text(result.to_ref or "-"),
            Text(result.branch or "-"),
            Text(detail),
        )
    return table

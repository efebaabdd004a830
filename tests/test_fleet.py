"""A fleet of generated projects against three tagged template releases: `apiseed status`,
`apiseed update PROJECT...` (each project on a branch of its own, the checkout untouched) and
the template-update workflow every generated project ships.

The fleet: 24 projects of six different answer sets, at v1, v2 and v3, with the hand edits
platform teams meet (an edit far from the template's changes, one on the same line, a file the
template adds in v2 added by the owners too, an own file, a deleted generated file, uncommitted
work), two projects in subfolders of one larger repository, and folders that cannot be updated.
Each answer set is rendered once per release and copied.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import edit
from typer.testing import CliRunner

from apiseed import generate
from apiseed.cli import app
from apiseed.matrix.steps import _workflows
from apiseed.project.fleet import FleetResult, _repository, statuses, update_all

HEALTH = "template/src/{{ package_name }}/health/router.py.jinja"
ROUTER_V1 = 'router = APIRouter(tags=["health"])'
ROUTER_V2 = 'router = APIRouter(tags=["health", "monitoring"])'
ROUTER_USER = 'router = APIRouter(tags=["health"], include_in_schema=False)'
ROUTER = "src/my_service/health/router.py"
CONTRIBUTING_V2 = "# Contributing\n\nAsk the platform team.\n"
CONTRIBUTING_OURS = "# How we work\n\nPair on every change.\n"
V3_LINE = "Template release v3: support hours are 9 to 5."

ANSWERS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "bare": {"auth": "none", "database": "none"},
    "apikey-pg": {"auth": "api_key", "database": "postgresql"},
    "lean": {"middleware": False, "background_tasks": False},
    "closed": {"static_files": False, "cors_origins": "[]"},
    "nodocs": {"auth": "none", "openapi_url": "", "docs_url": "", "redoc_url": ""},
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def releases(
    make_template_repo: Callable[[str], Path], release: Callable[[Path, str], None]
) -> Path:
    """The template at v1.0.0; v2.0.0 changes the health router's line and adds
    CONTRIBUTING.md; v3.0.0 adds a line to the README."""
    repo = make_template_repo("v1.0.0")
    edit(repo / HEALTH, ROUTER_V1, ROUTER_V2)
    (repo / "template/CONTRIBUTING.md").write_text(CONTRIBUTING_V2, encoding="utf-8")
    release(repo, "v2.0.0")
    with (repo / "template/README.md.jinja").open("a", encoding="utf-8") as readme:
        readme.write(f"\n{V3_LINE}\n")
    release(repo, "v3.0.0")
    return repo


# What the owners did to a project, after generating and committing it.
def no_edit(project: Path) -> None:
    pass


def edit_readme(project: Path) -> None:
    edit(project / "README.md", "# My Service\n", "# My Service (payments team)\n")


def edit_router(project: Path) -> None:
    edit(project / ROUTER, ROUTER_V1, ROUTER_USER)


def add_contributing(project: Path) -> None:
    (project / "CONTRIBUTING.md").write_text(CONTRIBUTING_OURS, encoding="utf-8")


def add_contributing_and_edit_router(project: Path) -> None:
    add_contributing(project)
    edit_router(project)


def add_notes(project: Path) -> None:
    (project / "NOTES.md").write_text("our notes\n", encoding="utf-8")


def delete_index(project: Path) -> None:
    (project / "static/index.html").unlink()


@dataclass(frozen=True)
class Member:
    """One project of the fleet and what an update to v3.0.0 must do with it."""

    name: str
    answers: str
    version: str
    change: Callable[[Path], None] = no_edit
    outcome: str = "updated"
    conflicts: tuple[str, ...] = ()
    drift: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dirty: bool = False
    where: str = ""
    """A folder of a larger repository ("monorepo"), or "" for a repository of its own."""


FLEET = [
    *(Member(f"plain-{name}", name, "v1.0.0") for name in ANSWERS),
    Member("readme-defaults", "defaults", "v1.0.0", edit_readme, drift={"changed": ("README.md",)}),
    Member("readme-bare", "bare", "v1.0.0", edit_readme, drift={"changed": ("README.md",)}),
    Member(
        "router-apikey", "apikey-pg", "v1.0.0", edit_router, "conflicts", (ROUTER,),
        {"changed": (ROUTER,)},
    ),
    Member(
        "router-lean", "lean", "v1.0.0", edit_router, "conflicts", (ROUTER,), {"changed": (ROUTER,)}
    ),
    Member(
        "both-add-contributing", "closed", "v1.0.0", add_contributing, "conflicts",
        ("CONTRIBUTING.md",), {"added": ("CONTRIBUTING.md",)},
    ),
    Member(
        "both-add-and-router", "nodocs", "v1.0.0", add_contributing_and_edit_router,
        "conflicts", ("CONTRIBUTING.md", ROUTER),
        {"changed": (ROUTER,), "added": ("CONTRIBUTING.md",)},
    ),
    Member("notes", "defaults", "v1.0.0", add_notes, drift={"added": ("NOTES.md",)}),
    Member(
        "deleted-index", "bare", "v1.0.0", delete_index, drift={"removed": ("static/index.html",)}
    ),
    Member(
        "uncommitted", "apikey-pg", "v1.0.0", edit_readme, "failed",
        drift={"changed": ("README.md",)}, dirty=True,
    ),
    Member("from-v2", "defaults", "v2.0.0"),
    Member("from-v2-readme", "bare", "v2.0.0", edit_readme, drift={"changed": ("README.md",)}),
    Member("current", "defaults", "v3.0.0", outcome="current"),
    Member(
        "current-notes", "apikey-pg", "v3.0.0", add_notes, "current",
        drift={"added": ("NOTES.md",)},
    ),
    Member("payments", "lean", "v1.0.0", where="monorepo/services/payments"),
    Member(
        "billing", "closed", "v1.0.0", edit_router, "conflicts", (ROUTER,),
        {"changed": (ROUTER,)}, where="monorepo/services/billing",
    ),
]  # fmt: skip


@dataclass(frozen=True)
class Fleet:
    root: Path
    members: dict[Path, Member]
    broken: dict[Path, str]
    """Folders no update can handle, and the reason each fails with."""

    @property
    def paths(self) -> list[Path]:
        return [*self.members, *self.broken]


@pytest.fixture(scope="module")
def fleet(releases: Path, tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    made: dict[tuple[str, str], Path] = {}
    root = tmp_path_factory.mktemp("fleet")
    members: dict[Path, Member] = {}
    for member in FLEET:
        key = (member.answers, member.version)
        if key not in made:
            dest = tmp_path_factory.mktemp("rendered") / "service"
            made[key] = generate(
                releases, dest, ANSWERS[member.answers], defaults=True, vcs_ref=member.version
            )
        project = root / (member.where or member.name)
        shutil.copytree(made[key], project)
        repository = root / member.where.split("/")[0] if member.where else project
        if not (repository / ".git").exists():
            git(repository, "init", "--quiet")
            if member.where:
                (repository / "docs").mkdir()
                (repository / "docs/platform.md").write_text("# Platform\n", encoding="utf-8")
        git(repository, "add", "--all")
        git(repository, "commit", "--quiet", "-m", f"generate {member.name}")
        member.change(project)
        if not member.dirty:
            git(repository, "add", "--all")
            git(repository, "commit", "--quiet", "--allow-empty", "-m", "the owners' edits")
        members[project] = member
    broken = {root / "not-a-project": "is not a generated project"}
    (root / "not-a-project").mkdir()
    lost = root / "unknown-version"
    shutil.copytree(made["defaults", "v1.0.0"], lost)
    answers_file = lost / ".copier-answers.yml"
    edit(answers_file, "_commit: v1.0.0", "_commit: v0.9.0")
    git(lost, "init", "--quiet")
    git(lost, "add", "--all")
    git(lost, "commit", "--quiet", "-m", "generate")
    broken[lost] = "the update failed"
    uncommitted = root / "never-committed"
    shutil.copytree(made["bare", "v1.0.0"], uncommitted)
    broken[uncommitted] = "not a committed git repository"
    return Fleet(root, members, broken)


def snapshot(project: Path) -> dict[str, Any]:
    """The checkout as its owners see it: files, branch, HEAD, index and status."""
    return {
        "files": {
            path.relative_to(project).as_posix(): path.read_bytes()
            for path in sorted(project.rglob("*"))
            if path.is_file() and ".git" not in path.relative_to(project).parts
        },
        "git": [
            git(project, *args)
            for args in (
                ("branch", "--show-current"),
                ("rev-parse", "HEAD"),
                ("status", "--porcelain"),
                ("ls-files", "--stage"),
            )
        ]
        if (project / ".git").exists() or "monorepo" in project.parts
        else None,
    }


def test_status_of_the_fleet(fleet: Fleet, releases: Path) -> None:
    found = {each.path: each for each in statuses(fleet.paths, jobs=2)}

    for path, member in fleet.members.items():
        each = found[path]
        assert each.error is None, (member.name, each.error)
        assert (each.version, each.latest) == (member.version, "v3.0.0"), member.name
        assert each.behind == (member.version != "v3.0.0"), member.name
        assert each.source == str(releases)
        assert each.answers["package_name"] == "my_service"
        assert each.drift is not None
        drift = {
            kind: files
            for kind, files in (
                ("changed", each.drift.changed),
                ("added", each.drift.added),
                ("removed", each.drift.removed),
            )
            if files
        }
        assert drift == member.drift, member.name
    assert found[fleet.root / "plain-bare"].answers["database"] == "none"
    assert found[fleet.root / "not-a-project"].error
    assert "not a generated project" in str(found[fleet.root / "not-a-project"].error)


def test_status_command_is_a_ci_gate(fleet: Fleet, tmp_path: Path) -> None:
    listing = tmp_path / "fleet.txt"
    listing.write_text(
        "# the payments team's services\n"
        + "".join(f"{os.path.relpath(path, tmp_path)}\n" for path in fleet.paths)
        + "\n",
        encoding="utf-8",
    )
    run = CliRunner().invoke(app, ["status", f"@{listing}", "--json"])
    assert run.exit_code == 1
    reported = json.loads(run.stdout)
    assert [Path(each["path"]) for each in reported] == fleet.paths
    by_path = {Path(each["path"]): each for each in reported}
    assert by_path[fleet.root / "from-v2"]["behind"] is True
    assert by_path[fleet.root / "current"]["behind"] is False
    assert by_path[fleet.root / "notes"]["drift"]["added"] == ["NOTES.md"]

    current = CliRunner().invoke(
        app,
        ["status", str(fleet.root / "current"), str(fleet.root / "current-notes")],
        env={"COLUMNS": "200"},
    )
    assert current.exit_code == 0, current.output
    assert "v3.0.0 (current)" in current.stdout
    assert "added: NOTES.md" in current.stdout

    table = CliRunner().invoke(app, ["status", "--from-file", str(listing)], env={"COLUMNS": "200"})
    assert table.exit_code == 1
    assert "v3.0.0 (behind)" in table.stdout
    assert "error: " in table.stderr
    assert "not-a-project is not a generated project" in table.stderr


def branch_file(project: Path, branch: str, name: str) -> str:
    prefix = git(project, "rev-parse", "--show-prefix").strip()
    return git(project, "show", f"{branch}:{prefix}{name}")


def test_updating_the_fleet(fleet: Fleet) -> None:
    before = {path: snapshot(path) for path in fleet.paths}

    results = {result.path: result for result in update_all(fleet.paths, {}, jobs=2)}

    # The checkouts are exactly as they were: branch, HEAD, index, files, uncommitted work.
    assert {path: snapshot(path) for path in fleet.paths} == before
    for path, member in fleet.members.items():
        result = results[path]
        assert (result.outcome, result.conflicts) == (member.outcome, member.conflicts), (
            member.name,
            result,
        )
        if member.outcome not in ("updated", "conflicts"):
            continue
        assert result.branch is not None
        assert (result.from_ref, result.to_ref) == (member.version, "v3.0.0")
        answers = yaml.safe_load(branch_file(path, result.branch, ".copier-answers.yml"))
        assert answers["_commit"] == "v3.0.0"
        assert V3_LINE in branch_file(path, result.branch, "README.md")
        message = git(path, "log", "-1", "--format=%B", result.branch)
        for name in member.conflicts:
            assert f"- {name}\n" in message
        # The branch has exactly one commit on top of the project's HEAD.
        assert git(path, "rev-parse", f"{result.branch}~1") == git(path, "rev-parse", "HEAD")
    for path in (*fleet.members, fleet.root / "unknown-version"):
        # No worktree left behind; a branch only for an update made.
        assert git(path, "worktree", "list", "--porcelain").count("worktree ") == 1
        branches = git(path, "branch", "--list", "apiseed/*", "--format=%(refname:short)")
        made = {r.branch for r in results.values() if r.branch and r.outcome != "failed"}
        assert set(branches.split()) <= made
        if results[path].outcome in ("current", "failed") and "monorepo" not in path.parts:
            assert not branches, path
    for path, reason in fleet.broken.items():
        assert results[path].outcome == "failed"
        assert reason in str(results[path].reason), results[path]
    assert results[fleet.root / "uncommitted"].reason == "uncommitted changes"

    # Skipping a release: v1 straight to v3 brings v2's changes too.
    skipped = results[fleet.root / "plain-defaults"]
    assert skipped.branch == "apiseed/update-v3.0.0"
    assert ROUTER_V2 in branch_file(skipped.path, skipped.branch, ROUTER)
    assert branch_file(skipped.path, skipped.branch, "CONTRIBUTING.md") == CONTRIBUTING_V2

    # Both added CONTRIBUTING.md: both versions between markers, never one silently kept.
    both = results[fleet.root / "both-add-contributing"]
    assert both.branch is not None
    merged = branch_file(both.path, both.branch, "CONTRIBUTING.md")
    assert "<<<<<<< before updating" in merged
    assert CONTRIBUTING_OURS in merged
    assert CONTRIBUTING_V2.strip() in merged

    # Owners' edits far from the template's changes merge; their own files stay.
    readme = results[fleet.root / "readme-defaults"]
    assert readme.branch is not None
    assert branch_file(readme.path, readme.branch, "README.md").startswith(
        "# My Service (payments team)\n"
    )
    notes = results[fleet.root / "notes"]
    assert notes.branch is not None
    assert branch_file(notes.path, notes.branch, "NOTES.md") == "our notes\n"

    # A monorepo: each project its own branch, the rest of the repository untouched.
    payments = results[fleet.root / "monorepo/services/payments"]
    billing = results[fleet.root / "monorepo/services/billing"]
    assert payments.branch == "apiseed/update-v3.0.0-services-payments"
    assert billing.branch == "apiseed/update-v3.0.0-services-billing"
    for result in (payments, billing):
        assert result.branch is not None
        changed = git(fleet.root / "monorepo", "diff", "--name-only", "HEAD", result.branch)
        folder = result.path.relative_to(fleet.root / "monorepo").as_posix()
        assert all(line.startswith(folder + "/") for line in changed.splitlines()), changed


def test_an_update_run_twice_gives_the_same_result(fleet: Fleet) -> None:
    chosen = [
        fleet.root / name
        for name in (
            "router-lean",
            "both-add-contributing",
            "deleted-index",
            "current",
            "uncommitted",
            "monorepo/services/payments",
        )
    ]
    first = update_all(chosen, {}, jobs=2)
    tips = {result.path: tip(result) for result in first}

    run = CliRunner().invoke(app, ["update", *map(str, chosen), "--json", "--jobs", "2"])

    assert run.exit_code == 1  # conflicts and a failure to look at
    again = [FleetResult(**as_fields(each)) for each in json.loads(run.stdout)]
    assert again == first
    assert {result.path: tip(result) for result in again} == tips

    # A branch someone pushed work to is theirs: reported, never overwritten.
    lean = fleet.root / "router-lean"
    (branch,) = [result.branch for result in first if result.path == lean]
    assert branch is not None
    git(lean, "worktree", "add", "--quiet", str(lean.parent / "lean-review"), branch)
    edit(lean.parent / "lean-review" / ROUTER, "<<<<<<< before updating\n", "")
    git(lean.parent / "lean-review", "commit", "--quiet", "-am", "resolve")
    resolved = git(lean, "rev-parse", branch)
    (refused,) = update_all([lean], {}, jobs=1)
    assert refused.outcome == "failed"
    assert f"branch {branch} already exists with other changes" in str(refused.reason)
    assert git(lean, "rev-parse", branch) == resolved


def tip(result: FleetResult) -> str | None:
    return git(result.path, "rev-parse", result.branch) if result.branch else None


def as_fields(reported: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": Path(reported["path"]),
        "outcome": reported["outcome"],
        "from_ref": reported["from"],
        "to_ref": reported["to"],
        "branch": reported["branch"],
        "conflicts": tuple(reported["conflicts"]),
        "reason": reported["reason"],
    }


def test_update_summary_table(fleet: Fleet) -> None:
    chosen = [fleet.root / "current", fleet.root / "not-a-project"]
    run = CliRunner().invoke(app, ["update", *map(str, chosen)], env={"COLUMNS": "200"})
    assert run.exit_code == 1
    assert re.search(r"current\s+│\s+already current", run.stdout), run.stdout
    assert re.search(r"not-a-project\s+│\s+failed", run.stdout), run.stdout


# The workflow every generated project ships, run as GitHub's runner would run its script,
# against a local "origin" and a stand-in for the gh CLI that records what it was asked.
WORKFLOW = ".github/workflows/template-update.yml"
GH = """#!/bin/sh
echo "$*" >> "$GH_LOG"
"""


def test_template_update_workflow_is_pinned_least_privilege_and_lint_clean(fleet: Fleet) -> None:
    project = fleet.root / "plain-defaults"
    workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    for step in job["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        assert "${{" not in step.get("run", ""), "expressions go through env:, not the script"
    checkout = job["steps"][0]
    assert checkout["with"]["persist-credentials"] is False
    assert _workflows(fleet.root, [f"plain-defaults/{WORKFLOW}"]) == {}


@pytest.fixture
def runner(tmp_path: Path) -> Callable[[Path], subprocess.CompletedProcess[str]]:
    """Run the workflow's update step in a project, as a runner would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(GH, encoding="utf-8")
    (bin_dir / "gh").chmod(0o755)

    def run(project: Path) -> subprocess.CompletedProcess[str]:
        workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
        (job,) = workflow["jobs"].values()
        (script,) = [
            step["run"] for step in job["steps"] if "apiseed update" in step.get("run", "")
        ]
        path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]])
        env = {
            **os.environ,
            "PATH": path,
            "GH_TOKEN": "token",
            "GH_LOG": str(tmp_path / "gh.log"),
            "RUNNER_TEMP": str(tmp_path),
            "GITHUB_REF_NAME": "main",
        }
        return subprocess.run(
            ["bash", "-e", "-c", script], cwd=project, env=env, capture_output=True, text=True
        )

    return run


def clone_with_origin(project: Path, tmp_path: Path) -> Path:
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", "--single-branch", str(project), str(origin))
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "--quiet", str(origin), str(checkout))
    return checkout


def test_template_update_workflow_opens_one_pull_request_listing_the_conflicts(
    fleet: Fleet,
    runner: Callable[[Path], subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    checkout = clone_with_origin(fleet.root / "router-apikey", tmp_path)

    first = runner(checkout)

    assert first.returncode == 0, first.stdout + first.stderr
    branch = "apiseed/update-v3.0.0"
    pushed = git(tmp_path / "origin.git", "log", "-1", "--format=%B", branch)
    assert pushed.startswith("Update the template from v1.0.0 to v3.0.0\n")
    assert f"- {ROUTER}\n" in pushed
    calls = (tmp_path / "gh.log").read_text(encoding="utf-8").splitlines()
    assert calls == ["auth setup-git", f"pr create --base main --head {branch} --fill"]
    assert git(checkout, "branch", "--show-current") == "main\n"

    # The next scheduled run finds the branch on GitHub: no second pull request.
    git(checkout, "branch", "--quiet", "-D", branch)
    second = runner(checkout)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already on GitHub" in second.stdout
    log = (tmp_path / "gh.log").read_text(encoding="utf-8").splitlines()
    assert log == [*calls, "auth setup-git"]


def test_template_update_workflow_on_a_current_project_does_nothing(
    fleet: Fleet,
    runner: Callable[[Path], subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    checkout = clone_with_origin(fleet.root / "current", tmp_path)
    run = runner(checkout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Already on the newest template release." in run.stdout
    assert not (tmp_path / "gh.log").exists()


def test_projects_of_different_repositories_update_in_parallel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Projects are grouped by repository, whatever folder apiseed runs in: git names the
    repository relative to the project."""
    first, second = tmp_path / "first", tmp_path / "second"
    for repository in (first, second):
        git(tmp_path, "init", "--quiet", str(repository))
    (first / "billing").mkdir()
    monkeypatch.chdir(tmp_path)

    keys = [_repository(project) for project in (first, second, first / "billing")]

    assert keys == [str(first / ".git"), str(second / ".git"), str(first / ".git")]

"""`apiseed diff`: what an update would change, shown as a patch, with nothing changed."""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apiseed import diff, generate, update
from apiseed.cli import app


def files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def status(project: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def template_repo_v2(
    make_template_repo: Callable[[str], Path], release: Callable[[Path, str], None]
) -> Path:
    repo = make_template_repo("v1.0.0")
    with (repo / "template/README.md.jinja").open("a", encoding="utf-8") as readme:
        readme.write("\n## Support\n\nAsk the platform team.\n")
    (repo / "template/SUPPORT.md").write_text("Ask the platform team.\n", encoding="utf-8")
    release(repo, "v2.0.0")
    return repo


@pytest.fixture
def project(template_repo_v2: Path, commit: Callable[[Path], None], tmp_path: Path) -> Path:
    made = generate(template_repo_v2, tmp_path / "service", {}, defaults=True, vcs_ref="v1.0.0")
    commit(made)
    return made


def test_diff_shows_the_update_and_changes_nothing(project: Path) -> None:
    before = files(project)

    run = CliRunner().invoke(app, ["diff", str(project), "--data", "middleware=false"])

    assert run.exit_code == 0, run.output
    assert "--- a/src/my_service/middleware.py\n+++ /dev/null\n" in run.output
    assert "+## Support\n" in run.output
    assert "--- /dev/null\n+++ b/SUPPORT.md\n@@ -0,0 +1 @@\n+Ask the platform team.\n" in run.output
    assert "-_commit: v1.0.0\n+_commit: v2.0.0\n" in run.output
    assert files(project) == before
    assert status(project) == ""


def test_applying_the_diff_is_the_update(project: Path, tmp_path: Path) -> None:
    patch, result = diff(project, {"background_tasks": False, "auth": "none"})
    assert result.clean
    assert result.to_ref == "v2.0.0"
    applied = tmp_path / "applied"
    shutil.copytree(project, applied)
    subprocess.run(["git", "apply"], cwd=applied, input=patch, text=True, check=True)

    update(project, {"background_tasks": False, "auth": "none"})

    assert files(applied) == files(project)


def test_diff_of_a_project_with_uncommitted_changes_uses_the_last_commit(project: Path) -> None:
    (project / "NOTES.md").write_text("draft\n", encoding="utf-8")

    patch, _ = diff(project, {}, to="v2.0.0")

    assert "+## Support\n" in patch
    assert "NOTES.md" not in patch
    assert status(project) == "?? NOTES.md\n"


def test_diff_reports_the_conflicts_an_update_would_leave(
    project: Path, commit: Callable[[Path], None]
) -> None:
    readme = project / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nOur own ending.\n", encoding="utf-8")
    commit(project)

    run = CliRunner().invoke(app, ["diff", str(project)])

    assert run.exit_code == 0, run.output
    assert "conflict: README.md" in run.output
    assert "+<<<<<<< before updating\n" in run.output
    assert readme.read_text(encoding="utf-8").endswith("\nOur own ending.\n")
    assert status(project) == ""

"""Where a project's template comes from: the answers file records a git source and a release
tag, so both `apiseed update` and plain `copier update` find the version it was made from."""

import importlib.metadata
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from apiseed import REPOSITORY, generate, update
from apiseed.cli import app

BUNDLED_TAG = f"v{importlib.metadata.version('apiseed')}"


def answers(project: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(
        (project / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    return loaded


def files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


@pytest.fixture
def release_change(release: Callable[[Path, str], None]) -> Callable[[Path, str], None]:
    """Release a new template version with a visible change."""

    def change_and_release(repo: Path, tag: str) -> None:
        with (repo / "template/README.md.jinja").open("a", encoding="utf-8") as readme:
            readme.write(f"\nTemplate release {tag}.\n")
        release(repo, tag)

    return change_and_release


@pytest.fixture
def canonical_repository(make_template_repo: Callable[[str], Path], git_config: Path) -> Path:
    """apiseed's repository, served from a local clone tagged as this release: git reads
    REPOSITORY from it (``url.<base>.insteadOf``), so nothing leaves the machine."""
    repo = make_template_repo(BUNDLED_TAG)
    with git_config.open("a", encoding="utf-8") as config:
        config.write(f'[url "file://{repo}"]\n\tinsteadOf = {REPOSITORY}\n')
    return repo


def test_bundled_release_records_the_repository_and_its_tag(tmp_path: Path) -> None:
    project = generate(None, tmp_path / "service", {}, defaults=True)
    assert answers(project)["_src_path"] == REPOSITORY
    assert answers(project)["_commit"] == BUNDLED_TAG


def copier_cli(*args: str) -> None:
    """Plain Copier, in its own process (it reads git's config from the environment then)."""
    subprocess.run([sys.executable, "-m", "copier", *args], check=True, capture_output=True)


def test_bundled_release_is_what_copier_renders_from_the_repository(
    canonical_repository: Path, tmp_path: Path
) -> None:
    offline = generate(None, tmp_path / "offline", {"auth": "none"}, defaults=True)
    online = tmp_path / "online"
    copier_cli("copy", "--defaults", "--quiet", "--data", "auth=none", REPOSITORY, str(online))
    assert files(offline) == files(online)


def test_plain_copier_update_of_a_bundled_project(
    canonical_repository: Path,
    commit: Callable[[Path], None],
    release_change: Callable[[Path, str], None],
    tmp_path: Path,
) -> None:
    project = generate(None, tmp_path / "service", {}, defaults=True)
    commit(project)
    release_change(canonical_repository, "v99.0.0")

    copier_cli("update", "--defaults", "--quiet", str(project))

    assert answers(project)["_commit"] == "v99.0.0"
    assert "Template release v99.0.0." in (project / "README.md").read_text(encoding="utf-8")


def test_plain_copier_update_of_a_project_from_a_template_repository(
    make_template_repo: Callable[[str], Path],
    commit: Callable[[Path], None],
    release_change: Callable[[Path, str], None],
    tmp_path: Path,
) -> None:
    repo = make_template_repo("v1.0.0")
    project = generate(repo, tmp_path / "service", {}, defaults=True, vcs_ref="v1.0.0")
    commit(project)
    release_change(repo, "v2.0.0")

    copier_cli("update", "--defaults", "--quiet", "--data", "middleware=false", str(project))

    assert answers(project)["_commit"] == "v2.0.0"
    assert answers(project)["middleware"] is False
    assert not (project / "src/my_service/middleware.py").exists()
    assert "Template release v2.0.0." in (project / "README.md").read_text(encoding="utf-8")


def test_relative_template_path_is_recorded_absolute(
    template_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(template_repo.parent)
    monkeypatch.setenv("APISEED_TEMPLATE", template_repo.name)
    run = CliRunner().invoke(app, ["new", str(tmp_path / "service"), "--defaults"])
    assert run.exit_code == 0, run.output
    assert answers(tmp_path / "service")["_src_path"] == str(template_repo)
    assert answers(tmp_path / "service")["_commit"] == "v1.0.0"


def test_update_goes_to_the_newest_release_and_skips_prereleases(
    make_template_repo: Callable[[str], Path],
    commit: Callable[[Path], None],
    release_change: Callable[[Path, str], None],
    tmp_path: Path,
) -> None:
    repo = make_template_repo("v1.0.0")
    project = generate(repo, tmp_path / "service", {}, defaults=True)
    assert answers(project)["_commit"] == "v1.0.0"
    commit(project)
    release_change(repo, "v1.10.0")
    release_change(repo, "v1.9.0")
    release_change(repo, "v2.0.0rc1")

    result = update(project, {})

    assert (result.from_ref, result.to_ref) == ("v1.0.0", "v1.10.0")
    assert answers(project)["_commit"] == "v1.10.0"

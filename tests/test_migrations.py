"""Copier `_migrations`: commands a template release runs when an update crosses it.

They are arbitrary commands, so Copier runs them only when trusted; `apiseed update` stops
before changing anything and asks for `--trust`. The release below moves something Copier
cannot: the user's git-ignored `.env`, after the template renames `.env.example`.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apiseed import UpdateError, diff, generate, update
from apiseed.cli import app

MIGRATION = """
_migrations:
  - version: v2.0.0
    command: >-
      {{ _copier_python }} -c "import pathlib; env = pathlib.Path('.env');
      env.exists() and env.rename('.env.local')"
"""


@pytest.fixture(scope="module")
def template_with_migration(
    make_template_repo: Callable[[str], Path], release: Callable[[Path, str], None]
) -> Path:
    repo = make_template_repo("v1.0.0")
    (repo / "template/.env.example.jinja").rename(repo / "template/.env.local.example.jinja")
    with (repo / "copier.yml").open("a", encoding="utf-8") as config:
        config.write(MIGRATION)
    release(repo, "v2.0.0")
    with (repo / "template/README.md.jinja").open("a", encoding="utf-8") as readme:
        readme.write("\nv3\n")
    release(repo, "v3.0.0")
    return repo


@pytest.fixture
def project(template_with_migration: Path, commit: Callable[[Path], None], tmp_path: Path) -> Path:
    # No authentication: its generated .env would be the template's, not only the user's.
    made = generate(
        template_with_migration,
        tmp_path / "service",
        {"auth": "none"},
        defaults=True,
        vcs_ref="v1.0.0",
    )
    commit(made)
    (made / ".env").write_text("MY_SERVICE_ENVIRONMENT=staging\n", encoding="utf-8")
    return made


def test_a_migration_needs_trust_and_nothing_changes_without_it(project: Path) -> None:
    run = CliRunner().invoke(app, ["update", str(project), "--to", "v2.0.0"])

    assert run.exit_code == 1
    assert "unsafe feature: migrations (template v2.0.0)" in run.output
    assert "re-run with --trust" in run.output
    assert (project / ".env").is_file()
    assert "_commit: v1.0.0" in (project / ".copier-answers.yml").read_text(encoding="utf-8")


def test_the_library_asks_for_trust_too(project: Path) -> None:
    for action in (diff, update):
        with pytest.raises(UpdateError, match="re-run with --trust"):
            action(project, {}, to="v2.0.0")

    patch, _ = diff(project, {}, to="v2.0.0", trust=True)

    assert "rename from .env.example\nrename to .env.local.example\n" in patch
    assert "_commit: v1.0.0" in (project / ".copier-answers.yml").read_text(encoding="utf-8")


def test_a_trusted_migration_moves_what_copier_cannot(project: Path) -> None:
    run = CliRunner().invoke(app, ["update", str(project), "--to", "v2.0.0", "--trust"])

    assert run.exit_code == 0, run.output
    assert not (project / ".env").exists()
    assert (project / ".env.local").read_text(encoding="utf-8") == (
        "MY_SERVICE_ENVIRONMENT=staging\n"
    )
    assert (project / ".env.local.example").is_file()
    assert not (project / ".env.example").exists()


def test_updates_that_do_not_cross_a_migration_need_no_trust(
    project: Path, commit: Callable[[Path], None]
) -> None:
    update(project, {}, to="v2.0.0", trust=True)
    commit(project)

    result = update(project, {})

    assert (result.from_ref, result.to_ref) == ("v2.0.0", "v3.0.0")

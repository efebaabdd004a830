"""The ``database`` answer: none / sqlite / postgresql, checked by rendering real projects."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import check_variant, postgres_test_env, render_variant

PROJECT = {"project_name": "Stock Keeper", "auth": "none"}
PACKAGE = "stock_keeper"
FEATURES_OFF = {
    "middleware": False,
    "background_tasks": False,
    "static_files": False,
    "cors_origins": [],
    "openapi_url": "",
}

# Every database value, with every optional feature on and with every one off (once on the
# lowest Python version; each other python_version costs a cold mypy run).
VARIANTS: dict[str, dict[str, Any]] = {
    "none": {"database": "none"},
    "sqlite": {"database": "sqlite"},
    "sqlite-features-off": {"database": "sqlite", **FEATURES_OFF},
    "postgresql": {"database": "postgresql"},
    "postgresql-features-off-py310": {
        "database": "postgresql",
        **FEATURES_OFF,
        "python_version": "3.10",
    },
}

DATABASE_FILES = [
    "alembic.ini",
    "migrations/env.py",
    "migrations/script.py.mako",
    "migrations/versions/0001_initial.py",
    f"src/{PACKAGE}/database.py",
    f"src/{PACKAGE}/deadline.py",
    f"src/{PACKAGE}/models.py",
    f"src/{PACKAGE}/items/models.py",
    "tests/test_database.py",
    "tests/test_migrations.py",
]


def dependency_names(project: Path) -> set[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    names = set()
    for requirement in pyproject["project"]["dependencies"]:
        match = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert match is not None, requirement
        names.add(match[0].lower())
    return names


@pytest.mark.parametrize("answers", VARIANTS.values(), ids=VARIANTS.keys())
def test_variant_passes_its_own_checks(
    template: Path, tmp_path: Path, request: pytest.FixtureRequest, answers: dict[str, Any]
) -> None:
    check_variant(template, tmp_path / "project", {**PROJECT, **answers}, request)


def test_postgresql_test_runs_work_in_schemas_of_their_own_and_drop_them(
    template: Path, tmp_path: Path, postgres_url: str
) -> None:
    project = render_variant(template, tmp_path / "project", {**PROJECT, "database": "postgresql"})

    def test_objects() -> set[str]:
        with psycopg.connect(postgres_url) as connection:
            rows = connection.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %(name)s"
                " UNION ALL SELECT datname FROM pg_database WHERE datname LIKE %(name)s",
                {"name": f"test_{PACKAGE}_%"},
            ).fetchall()
        return {name for (name,) in rows}

    before = test_objects()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env={**os.environ, **postgres_test_env(PACKAGE, postgres_url)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert test_objects() == before


@pytest.mark.parametrize(
    ("database", "expected", "unexpected"),
    [
        ("none", set(), {"sqlalchemy", "alembic", "anyio", "psycopg"}),
        ("sqlite", {"sqlalchemy", "alembic", "anyio"}, {"psycopg"}),
        ("postgresql", {"sqlalchemy", "alembic", "anyio", "psycopg"}, set()),
    ],
)
def test_dependencies_and_files_follow_the_backend(
    template: Path, tmp_path: Path, database: str, expected: set[str], unexpected: set[str]
) -> None:
    project = render_variant(template, tmp_path / "project", {**PROJECT, "database": database})

    names = dependency_names(project)
    assert expected <= names
    assert not unexpected & names
    present = [name for name in DATABASE_FILES if (project / name).exists()]
    assert present == ([] if database == "none" else DATABASE_FILES)


@pytest.fixture(scope="module")
def sqlite_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("sqlite") / "project"
    return render_variant(template, project, {**PROJECT, "database": "sqlite"})


def run_in(project: Path, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a console command of the generated project, as its README says, from its root."""
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src"), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_alembic_command_line_migrates_the_configured_database(
    sqlite_project: Path, tmp_path: Path
) -> None:
    url = {f"{PACKAGE.upper()}_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    upgrade = run_in(sqlite_project, "alembic", "upgrade", "head", **url)
    check = run_in(sqlite_project, "alembic", "check", **url)
    downgrade = run_in(sqlite_project, "alembic", "downgrade", "base", **url)

    assert "Running upgrade  -> 0001" in upgrade.stderr, upgrade.stderr
    assert check.returncode == 0, check.stderr
    assert "No new upgrade operations detected" in check.stdout
    assert "Running downgrade 0001 -> " in downgrade.stderr, downgrade.stderr
    assert (tmp_path / "cli.db").exists()


def test_a_malformed_database_url_stops_the_service_at_startup(sqlite_project: Path) -> None:
    result = run_in(sqlite_project, PACKAGE, **{f"{PACKAGE.upper()}_DATABASE_URL": "nonsense"})

    assert result.returncode != 0
    assert f"{PACKAGE.upper()}_DATABASE_URL must be a SQLite file URL" in result.stderr

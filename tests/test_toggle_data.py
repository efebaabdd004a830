"""Toggling a feature that changes the schema keeps the rows, on SQLite and PostgreSQL.

Adding JWT authentication to a project that has items gives them an owner (revision 0002:
``alembic -x items_owner=NAME``, default ``admin``), whom ``create-user`` then lets log in;
taking the revision back down, before the update that removes JWT, keeps the items.
Real updates of real git projects, real ``alembic`` and ``create-user`` commands, real
databases.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from apiseed import generate, update

PACKAGE = "stock_keeper"
URL_VARIABLE = f"{PACKAGE.upper()}_DATABASE_URL"
ITEMS = [("hammer", 3), ("saw", 1), ("drill", 7)]
PASSWORD = "a-long-enough-password"
ANSWERS = {
    "project_name": "Stock Keeper",
    "auth": "none",
    "middleware": False,
    "background_tasks": False,
    "static_files": False,
    "cors_origins": [],
}

# Log in as the owner and list the items, through the app's own routes.
LIST_ITEMS = f"""
import sys
from fastapi.testclient import TestClient
from {PACKAGE}.main import create_app

with TestClient(create_app()) as client:
    form = {{"username": sys.argv[1], "password": sys.argv[2]}}
    token = client.post("/token", data=form).json()["access_token"]
    page = client.get("/items", headers={{"Authorization": f"Bearer {{token}}"}}).json()
    print(sorted((item["name"], item["quantity"]) for item in page["items"]))
"""


def run_in(project: Path, url: str, *command: str, stdin: str | None = None) -> str:
    """A command of the generated project, from its root, against the database at ``url``."""
    result = subprocess.run(
        [sys.executable, *command],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src"), URL_VARIABLE: url},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def alembic(project: Path, url: str, *arguments: str) -> None:
    run_in(project, url, "-m", "alembic", *arguments)


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The backend's name and the URL of an empty database of this test's own."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path / 'service.db'}"
        return
    server: str = request.getfixturevalue("postgres_url")
    name = f"toggle_{uuid.uuid4().hex}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield "postgresql", f"{base}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_adding_jwt_gives_the_items_an_owner_and_removing_it_keeps_them(
    database: tuple[str, str],
    template_repo: Path,
    commit: Callable[[Path], None],
    tmp_path: Path,
) -> None:
    backend, url = database
    project = tmp_path / "service"
    generate(
        template_repo, project, {**ANSWERS, "database": backend}, defaults=True, vcs_ref="v1.0.0"
    )
    commit(project)
    alembic(project, url, "upgrade", "head")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for name, quantity in ITEMS:
            connection.execute(
                sa.text("INSERT INTO items (name, quantity) VALUES (:name, :quantity)"),
                {"name": name, "quantity": quantity},
            )
    engine.dispose()

    update(project, {"auth": "jwt"})
    alembic(project, url, "-x", "items_owner=alice", "upgrade", "head")

    owned = rows(url, "SELECT i.name, u.username FROM items i JOIN users u ON u.id = i.owner_id")
    assert sorted(owned) == sorted((name, "alice") for name, _ in ITEMS)
    run_in(project, url, "-m", PACKAGE, "create-user", "alice", "--password-stdin", stdin=PASSWORD)
    listed = run_in(project, url, "-c", LIST_ITEMS, "alice", PASSWORD)
    assert listed.strip() == str(sorted(ITEMS))

    # Removing JWT: revision 0002 goes down before the update takes its file away.
    alembic(project, url, "downgrade", "0001")
    commit(project)
    update(project, {"auth": "none"})
    alembic(project, url, "upgrade", "head")

    assert sorted(rows(url, "SELECT name, quantity FROM items")) == sorted(ITEMS)
    assert not (project / "migrations/versions/0002_users.py").exists()


def test_adding_jwt_to_an_empty_database_creates_no_user(
    template_repo: Path, commit: Callable[[Path], None], tmp_path: Path
) -> None:
    project, url = tmp_path / "service", f"sqlite:///{tmp_path / 'service.db'}"
    generate(
        template_repo, project, {**ANSWERS, "database": "sqlite"}, defaults=True, vcs_ref="v1.0.0"
    )
    commit(project)
    alembic(project, url, "upgrade", "head")

    update(project, {"auth": "jwt"})
    alembic(project, url, "upgrade", "head")

    assert rows(url, "SELECT username FROM users") == []

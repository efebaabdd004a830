"""A generated project's own command line, as its user meets it: errors are one line, and the
service started outside the project root neither crashes nor reports itself healthy over a
database that was never migrated (nor makes an empty SQLite file there)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import render_variant

PACKAGE = "my_service"


@pytest.fixture(scope="module")
def project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default variant (JWT, SQLite, static files)."""
    return render_variant(template, tmp_path_factory.mktemp("project") / "service", {})


def run(project: Path, cwd: Path, code: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``python -c code`` with the project's package importable, in ``cwd``."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MY_SERVICE_")},
        "PYTHONPATH": str(project / "src"),
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_create_user_without_a_terminal_is_one_line(project: Path) -> None:
    result = run(
        project, project, f"from {PACKAGE}.__main__ import main; main(['create-user', 'alice'])"
    )

    assert result.returncode == 1
    assert one_line(result) == ("error: no terminal to ask for the password: use --password-stdin")


def test_a_settings_error_names_what_is_wrong(project: Path) -> None:
    result = run(
        project,
        project,
        "import os; os.environ['MY_SERVICE_CORS_ORIGINS'] = '*'\n"
        "os.environ['MY_SERVICE_CORS_ALLOW_CREDENTIALS'] = 'true'\n"
        f"from {PACKAGE}.__main__ import load_settings; load_settings()",
    )

    assert result.returncode == 1
    assert one_line(result).startswith("error: invalid settings: cors_origins must list origins")


HEALTH = (
    "from fastapi.testclient import TestClient\n"
    f"from {PACKAGE}.main import create_app\n"
    "with TestClient(create_app()) as client:\n"
    "    response = client.get('/health')\n"
    "    print(response.status_code, response.json()['database'])\n"
)


def test_started_elsewhere_the_service_is_unready_not_broken(project: Path, tmp_path: Path) -> None:
    result = run(project, tmp_path, HEALTH)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["503", "unreachable"]
    assert list(tmp_path.iterdir()) == []  # no empty my-service.db made here


def test_an_unmigrated_database_is_not_ready(project: Path, tmp_path: Path) -> None:
    (tmp_path / "my-service.db").touch()

    result = run(project, tmp_path, HEALTH)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["503", "unmigrated"]

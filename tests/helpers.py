"""Render a variant of the template and run the generated project's own checks.

Shared by the test modules; import it as ``from helpers import ...``.
"""

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

import generator

# The generated project's README command: lint, format, types, tests.
CHECKS = (
    ("ruff", "check", "."),
    ("ruff", "format", "--check", "."),
    ("mypy",),
    ("pytest", "-q", "-p", "no:cacheprovider"),
)


def render_variant(template: Path, project: Path, answers: Mapping[str, Any]) -> Path:
    """Render ``template`` (the ``template`` fixture: the working tree) into ``project``."""
    generator.render(template, project, data=answers, defaults=True)
    return project


def run_checks(project: Path, env: Mapping[str, str] | None = None) -> None:
    """Run each check in ``project`` with this interpreter; fail with the output of the first
    one that does not pass. ``env`` adds variables, such as a test database URL."""
    for check in CHECKS:
        result = subprocess.run(
            [sys.executable, "-m", *check],
            cwd=project,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, (
            f"`{' '.join(check)}` failed in {project}:\n{result.stdout}\n{result.stderr}"
        )


def postgres_test_env(package_name: str, server_url: str) -> dict[str, str]:
    """What a generated PostgreSQL project's tests read: its server, and that it is required."""
    prefix = package_name.upper()
    return {f"{prefix}_TEST_DATABASE_URL": server_url, f"{prefix}_TEST_DATABASE_REQUIRED": "1"}


def check_variant(
    template: Path, project: Path, answers: Mapping[str, Any], request: pytest.FixtureRequest
) -> None:
    """Render a variant into ``project`` and run its own checks; a PostgreSQL variant's tests
    get the server of the ``postgres_url`` fixture."""
    render_variant(template, project, answers)
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    env = {}
    if recorded["database"] == "postgresql":
        server_url = request.getfixturevalue("postgres_url")
        env = postgres_test_env(recorded["package_name"], server_url)
    run_checks(project, env)

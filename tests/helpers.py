"""Render a variant of the template and run the generated project's own checks.

Shared by the test modules; import it as ``from helpers import ...``.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pytest
import yaml

import apiseed

# The generated project's README command: lint, format, types, tests.
CHECKS = (
    ("ruff", "check", "."),
    ("ruff", "format", "--check", "."),
    ("mypy",),
    ("pytest", "-q", "-p", "no:cacheprovider"),
)


def render_variant(template: Path, project: Path, answers: Mapping[str, Any]) -> Path:
    """Render ``template`` (the ``template`` fixture: the working tree) into ``project``."""
    apiseed.render(template, project, data=answers, defaults=True)
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(
    command: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    port_variable: str,
    output: IO[bytes] | None = None,
) -> Iterator[str]:
    """Run a server (``command``, listening on the port given in ``port_variable``) and yield
    its URL once it is live (/health/live answers 200); stop it afterwards. Fails, with the
    server's output, if it exits first or is not live within 60 s. The server writes its
    output to ``output`` if given, for the caller to read once the server has stopped."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with contextlib.ExitStack() as stack:
        written = output or stack.enter_context(tempfile.TemporaryFile())
        server = subprocess.Popen(
            command,
            cwd=cwd,
            env={**env, port_variable: str(port)},
            stdout=written,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a reloader has a child: stop the whole group
        )
        try:
            _wait_for_health(f"{url}/health/live", server, written)
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def _wait_for_health(url: str, server: subprocess.Popen[bytes], output: IO[bytes]) -> None:
    def failure(problem: str) -> str:
        output.seek(0)
        return f"{problem}; its output:\n{output.read().decode(errors='replace')}"

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(failure(f"the server exited with code {server.returncode}"))
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # not listening yet, or not healthy yet (an HTTPError)
            pass
        time.sleep(0.2)
    pytest.fail(failure(f"{url} did not answer 200 within 60 s"))


def edit(file: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in ``file`` (or in its template, ``file.jinja``) with ``new``;
    a test's edit that no longer applies fails loudly."""
    if not file.exists():
        file = file.with_name(file.name + ".jinja")
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{file} no longer contains {old!r}: update the test's edit"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")

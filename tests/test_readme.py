"""The README's two commands, and the generated project's own README commands, as written."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def console_blocks(readme: Path) -> list[str]:
    return re.findall(r"```console\n(.*?)\n```", readme.read_text(encoding="utf-8"), re.DOTALL)


def bash(command: str, cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"`{command}` failed:\n{result.stdout}\n{result.stderr}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_health(url: str, server: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                status: int = response.status
                return status
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within 60 s")


def test_the_two_commands_come_first_and_ci_runs_the_test_command() -> None:
    install, test = console_blocks(REPO / "README.md")[:2]

    assert install == 'python -m pip install ".[test]" && apiseed new my-service --defaults'
    assert test == "python -m pytest"
    assert "\npython -m pytest\n" in (REPO / ".ci/run").read_text()


def test_default_project_follows_its_own_readme(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`apiseed new my-service --defaults`, then the project's README: install into a new
    virtual environment, migrate, serve (answering /health over real HTTP), and test."""
    apiseed = shutil.which("apiseed", path=str(Path(sys.executable).parent))
    assert apiseed is not None, "apiseed is not installed next to this interpreter"
    generate = console_blocks(REPO / "README.md")[0].split(" && ", 1)[1]
    bash(generate.replace("apiseed", apiseed, 1), tmp_path, {"APISEED_TEMPLATE": str(template)})
    project = tmp_path / "my-service"
    run, test = console_blocks(project / "README.md")[:2]
    *install, serve = run.split(" && ")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    # uv comes with apiseed's test extra; it must not download a Python of its own.
    tools = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "UV_PYTHON_DOWNLOADS": "never",
    }

    bash(" && ".join(install), project, tools)
    port = free_port()
    server = subprocess.Popen(
        ["bash", "-c", f"exec {serve} --port {port}"],
        cwd=project,
        env={**os.environ, **tools},
        start_new_session=True,  # fastapi dev's reloader has a child: stop the whole group
    )
    try:
        assert wait_for_health(f"http://127.0.0.1:{port}/health", server) == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    bash(test, project, tools)
    assert (project / "uv.lock").is_file()  # what the README asks the owner to commit

"""The README's two commands, and the generated project's own README commands, as written."""

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from helpers import serving

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
    command = ["bash", "-c", f'exec {serve} --port "$PORT"']
    with (
        serving(command, project, {**os.environ, **tools}, "PORT") as url,
        urllib.request.urlopen(f"{url}/health", timeout=10) as response,
    ):
        assert response.status == 200
    bash(test, project, tools)
    assert (project / "uv.lock").is_file()  # what the README asks the owner to commit

    # The other commands, as written: adding a user (its password from a pipe rather than a
    # terminal), and drafting the next migration (after the authentication's 0002) and undoing it.
    blocks = console_blocks(project / "README.md")
    (create_user,) = [block for block in blocks if "create-user" in block]
    bash(f"echo 'a long password' | {create_user} --password-stdin", project, tools)
    (migrations,) = [block for block in blocks if "alembic revision" in block]
    bash(migrations, project, tools)
    assert [path.name[:5] for path in (project / "migrations/versions").glob("0003_*.py")]
    # pip instead of uv: the same steps between installing and serving (the migration).
    (pip,) = [block for block in blocks if "pip install" in block]
    steps = [step.removeprefix("uv run ") for step in install[1:]]
    assert pip.split(" && ")[-1 - len(steps) : -1] == steps

"""The release channel as a user meets it: apiseed installed from its wheel into a fresh virtual
environment, projects generated, committed, changed and updated across template releases, with
git unable to reach any network (``GIT_ALLOW_PROTOCOL=file``: an attempt to read apiseed's
repository over https fails at once instead of going unnoticed).

The wheel is built once per session from a copy of this working tree whose git history holds an
earlier template release (``v0.0.9``), so the wheel ships that release history too.
"""

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hatchling.builders.sdist import SdistBuilder

from apiseed import REPOSITORY, working_copy

REPO = Path(__file__).resolve().parents[1]
VERSION = importlib.metadata.version("apiseed")
BUNDLED = f"v{VERSION}"
OLD = "v0.0.9"
NEW = "v99.0.0"
OLD_LINE = f"Template release {OLD}."
NEW_LINE = f"Template release {NEW}."
SOURCES = ("generator", "checks", "pyproject.toml", "README.md", "hatch_build.py")


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def release(repo: Path, tag: str) -> None:
    run(repo, "git", "add", "--all", "--force", "--", ".")
    run(repo, "git", "commit", "--quiet", "-m", f"release {tag}")
    run(repo, "git", "tag", tag)


def append_line(repo: Path, line: str) -> None:
    with (repo / "template/README.md.jinja").open("a", encoding="utf-8") as readme:
        readme.write(f"\n{line}\n")


@dataclass(frozen=True)
class Installed:
    """apiseed installed from its wheel into a fresh venv, and the environment to run it in."""

    bin: Path
    env: dict[str, str]
    home: Path

    def apiseed(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "apiseed"), *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def copier(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "python"), "-m", "copier", *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def serve_repository_from(self, remote: Path | None) -> None:
        """Make ``remote`` stand in for apiseed's repository (None: unreachable again)."""
        config = self.home / ".gitconfig"
        text = config.read_text(encoding="utf-8").split("[url")[0]
        if remote is not None:
            text += f'[url "file://{remote}"]\n\tinsteadOf = {REPOSITORY}\n'
        config.write_text(text, encoding="utf-8")


def user_environment(home: Path) -> dict[str, str]:
    """A user's environment with its own home and git config, and git unable to go online."""
    (home / ".gitconfig").write_text(
        "[user]\n\tname = user\n\temail = user@example.com\n[init]\n\tdefaultBranch = main\n",
        encoding="utf-8",
    )
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ALLOW_PROTOCOL": "file",
        "COPIER_SETTINGS_PATH": os.environ["COPIER_SETTINGS_PATH"],
        "COPIER_CACHE_DIR": str(home / "copier-cache"),
        "PYTHONNOUSERSITE": "1",
        "NO_COLOR": "1",
    }


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """apiseed's wheel, built from a copy of this working tree with v0.0.9 in its history."""
    env = user_environment(tmp_path_factory.mktemp("builder"))
    source = tmp_path_factory.mktemp("apiseed-source")
    working_copy(REPO, source)
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name,
                source / name,
                ignore=shutil.ignore_patterns("__pycache__", "_template"),
            )
        else:
            shutil.copy2(REPO / name, source / name)
    run(source, "git", "init", "--quiet", env=env)
    template_readme = (source / "template/README.md.jinja").read_text(encoding="utf-8")
    append_line(source, OLD_LINE)
    release(source, OLD)
    (source / "template/README.md.jinja").write_text(template_readme, encoding="utf-8")
    release(source, BUNDLED)
    wheels = tmp_path_factory.mktemp("wheel")
    run(
        source,
        sys.executable,
        *("-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"),
        *("-w", str(wheels), "."),
    )
    return next(wheels.glob("*.whl"))


def new_venv(venv: Path) -> Path:
    """A virtual environment without pip (this interpreter's pip installs into it)."""
    run(venv, sys.executable, "-m", "venv", "--without-pip", str(venv))
    return venv / "bin/python"


def pip_install(python: Path, *args: str) -> None:
    run(python.parent, sys.executable, "-m", "pip", "--python", str(python), "install", *args)


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel installed into a new venv; the test environment's packages are visible to it,
    apiseed itself is only the wheel's."""
    home = tmp_path_factory.mktemp("home")
    env = user_environment(home)
    python = new_venv(tmp_path_factory.mktemp("venv"))
    purelib = Path(
        run(
            python.parent,
            str(python),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ).strip()
    )
    (purelib / "test-environment.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    pip_install(python, "--quiet", "--no-deps", str(wheel))
    return Installed(python.parent, env, home)


@pytest.fixture(scope="session")
def plain(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """``pip install apiseed`` as a user runs it: the wheel and its dependencies, no extras,
    into a new venv of its own (from the package index, or pip's cache)."""
    home = tmp_path_factory.mktemp("plain-home")
    python = new_venv(tmp_path_factory.mktemp("plain-venv"))
    pip_install(python, "--quiet", "--disable-pip-version-check", str(wheel))
    return Installed(python.parent, user_environment(home), home)


def answers(project: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(
        (project / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    return loaded


def commit(project: Path, env: dict[str, str]) -> None:
    if not (project / ".git").exists():
        run(project, "git", "init", "--quiet", env=env)
    run(project, "git", "add", "--all", env=env)
    run(project, "git", "commit", "--quiet", "-m", "commit", env=env)


def tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_a_wheel_builds_from_the_sdist(tmp_path: Path) -> None:
    """Installing from the source archive builds the same package: everything the wheel
    takes is in the archive."""
    sdist = Path(next(iter(SdistBuilder(str(REPO)).build(directory=str(tmp_path)))))
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    source = tmp_path / sdist.name.removesuffix(".tar.gz")
    pip_wheel = ("-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation")
    run(source, sys.executable, *pip_wheel, "-w", str(tmp_path / "dist"), ".")

    with zipfile.ZipFile(next((tmp_path / "dist").glob("*.whl"))) as wheel:
        names = set(wheel.namelist())
    for shipped in ("copier.yml", "matrix.yml", "checks/test_openapi_client.py"):
        assert f"apiseed/_template/{shipped}" in names
    assert "apiseed/cli.py" in names


def test_the_installed_apiseed_is_the_wheel(installed: Installed, tmp_path: Path) -> None:
    where = run(
        tmp_path, str(installed.bin / "python"), "-c", "import apiseed; print(apiseed.__file__)"
    )
    assert where.startswith(str(installed.bin.parent))
    # The template ships with what `apiseed check --client` runs.
    client_test = run(
        tmp_path,
        str(installed.bin / "python"),
        "-c",
        "from apiseed.template import bundled_template\n"
        "from apiseed.matrix.declaration import client_test\n"
        "print(client_test(bundled_template()))",
    )
    assert client_test.startswith(str(installed.bin.parent))
    assert client_test.strip().endswith("_template/checks/test_openapi_client.py")


def test_generate_toggle_and_update_across_releases_offline(
    installed: Installed, tmp_path: Path
) -> None:
    env = installed.env
    made = installed.apiseed(tmp_path, "new", "service", "--defaults")
    assert made.returncode == 0, made.stderr
    project = tmp_path / "service"
    assert answers(project)["_src_path"] == REPOSITORY
    assert answers(project)["_commit"] == BUNDLED
    commit(project, env)

    # A feature toggled on the installed release: no network at all.
    toggled = installed.apiseed(project, "update", "--data", "middleware=false")
    assert toggled.returncode == 0, toggled.stderr
    assert not (project / "src/my_service/middleware.py").exists()
    assert answers(project)["middleware"] is False
    commit(project, env)
    patch = installed.apiseed(project, "diff", "--data", "background_tasks=false")
    assert patch.returncode == 0, patch.stderr
    assert "+++ /dev/null" in patch.stdout

    # An older release, from the release history shipped in the wheel, then up to this one.
    old = tmp_path / "old"
    made = installed.apiseed(tmp_path, "new", str(old), "--defaults", "--vcs-ref", OLD)
    assert made.returncode == 0, made.stderr
    assert answers(old)["_commit"] == OLD
    assert OLD_LINE in (old / "README.md").read_text(encoding="utf-8")
    commit(old, env)

    # The fleet view of both, offline: the old one is behind the bundled release; an update
    # on a branch leaves its checkout as it was.
    status = installed.apiseed(tmp_path, "status", str(old), str(project), "--json")
    assert status.returncode == 1, status.stderr
    old_status, status_now = json.loads(status.stdout)
    assert (old_status["version"], old_status["latest"]) == (OLD, BUNDLED)
    assert old_status["behind"] is True
    assert old_status["drift"] == {"changed": [], "added": [], "removed": []}
    assert (status_now["source"], status_now["behind"]) == (REPOSITORY, False)
    branched = installed.apiseed(tmp_path, "update", str(old), "--branch", "--json")
    assert branched.returncode == 0, branched.stderr
    (result,) = json.loads(branched.stdout)
    assert (result["outcome"], result["branch"]) == ("updated", f"apiseed/update-{BUNDLED}")
    assert OLD_LINE in (old / "README.md").read_text(encoding="utf-8")
    updated = installed.apiseed(old, "update", "--data", "auth=api_key")
    assert updated.returncode == 0, updated.stderr
    assert f"from {OLD} to {BUNDLED}" in updated.stdout
    assert answers(old)["_commit"] == BUNDLED
    assert answers(old)["auth"] == "api_key"
    assert OLD_LINE not in (old / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def remote(
    installed: Installed, make_template_repo: Callable[[str], Path]
) -> Iterator[Callable[[], Path]]:
    """A local repository standing in for apiseed's: this release, then a newer one."""

    def serve() -> Path:
        repo = make_template_repo(BUNDLED)
        append_line(repo, NEW_LINE)
        release(repo, NEW)
        installed.serve_repository_from(repo)
        return repo

    yield serve
    installed.serve_repository_from(None)


def test_newer_release_from_the_repository_and_plain_copier(
    installed: Installed, remote: Callable[[], Path], tmp_path: Path
) -> None:
    env = installed.env
    assert installed.apiseed(tmp_path, "new", "service", "--defaults").returncode == 0
    project = tmp_path / "service"
    commit(project, env)
    before = tree(project)

    # Not bundled, and the repository unreachable: one line saying what to do; nothing changed.
    refused = installed.apiseed(project, "update", "--to", NEW)
    one_line_error(refused, f"template {NEW} is not bundled", "connect to the network")
    assert tree(project) == before

    remote()
    check = installed.copier(project, "check-update", "--output-format", "json")
    assert check.returncode == 0, check.stderr
    assert '"update_available": true' in check.stdout
    assert f'"latest_version": "{NEW.removeprefix("v")}"' in check.stdout

    updated = installed.apiseed(project, "update", "--to", NEW, "--data", "static_files=false")
    assert updated.returncode == 0, updated.stderr
    assert answers(project)["_commit"] == NEW
    assert NEW_LINE in (project / "README.md").read_text(encoding="utf-8")
    assert not (project / "static").exists()
    commit(project, env)
    check = installed.copier(project, "check-update", "--output-format", "json")
    assert '"update_available": false' in check.stdout

    # Plain Copier updates the same project from the repository, as Renovate would.
    plain = installed.copier(project, "update", "--defaults", "--data", "middleware=false")
    assert plain.returncode == 0, plain.stderr
    assert not (project / "src/my_service/middleware.py").exists()

    # The project is newer than this apiseed: no silent downgrade.
    run(project, "git", "checkout", "--quiet", "--", ".", env=env)
    run(project, "git", "clean", "-fdq", env=env)
    refused = installed.apiseed(project, "update")
    one_line_error(refused, f"made from template {NEW}, newer than the {BUNDLED}")


def test_a_plain_install_generates_and_asks_for_the_check_extra(
    plain: Installed, tmp_path: Path
) -> None:
    """Without the ``check`` extra: no mypy, ruff or FastAPI; ``new`` works, ``check`` refuses
    in one line naming the command that installs what it needs."""
    probe = "import importlib.util as u; print([u.find_spec(m) is None for m in MODULES])"
    absent = run(
        tmp_path,
        str(plain.bin / "python"),
        "-c",
        probe.replace("MODULES", repr(["mypy", "ruff", "fastapi", "hatchling"])),
    )
    assert absent.strip() == "[True, True, True, True]"

    made = plain.apiseed(tmp_path, "new", "service", "--defaults")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "service" / "pyproject.toml").is_file()

    refused = plain.apiseed(tmp_path, "check", "--tier", "smoke")
    one_line_error(refused, "apiseed check needs the check extra", 'pip install "apiseed[check]"')

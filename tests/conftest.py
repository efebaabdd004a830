"""Fixtures shared by apiseed's tests: tools isolated from the developer's own settings, the
template's working copy, tagged template repositories made from it, and PostgreSQL."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from apiseed import bundled_template, working_copy

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = "APISEED_POSTGRES_URL"
REQUIRE_POSTGRES = "APISEED_REQUIRE_POSTGRES"


def run_git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def commit_all(repo: Path, message: str = "commit") -> None:
    """Commit everything in ``repo`` (initialising it first when needed)."""
    if not (repo / ".git").exists():
        run_git(repo, "init", "--quiet")
    run_git(repo, "add", "--all")
    run_git(repo, "commit", "--quiet", "--allow-empty", "-m", message)


def pytest_configure(config: pytest.Config) -> None:
    """No developer settings leak in: Copier's settings and cache, git's config, APISEED_*,
    and apiseed's own cache (the mypy cache ``apiseed check`` keeps under XDG_CACHE_HOME):
    each session starts from what a fresh machine has, and leaves the user's cache alone.
    pip's download cache, also under XDG_CACHE_HOME on Linux, stays where it was.

    Copier's in-process git runner copies the environment when it is first imported, which
    may be before this runs, so a test that needs git's config for Copier runs Copier in its
    own process.
    """
    home = Path(tempfile.mkdtemp(prefix="apiseed-tests-"))
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    os.environ.setdefault("PIP_CACHE_DIR", str(Path(cache_home) / "pip"))
    os.environ["XDG_CACHE_HOME"] = str(home / "cache")
    (home / "copier-settings.yml").write_text("{}\n", encoding="utf-8")
    (home / "gitconfig").write_text(
        "[user]\n\tname = apiseed tests\n\temail = tests@example.com\n"
        "[init]\n\tdefaultBranch = main\n",
        encoding="utf-8",
    )
    os.environ["COPIER_SETTINGS_PATH"] = str(home / "copier-settings.yml")
    os.environ["COPIER_CACHE_DIR"] = str(home / "copier-cache")
    os.environ["GIT_CONFIG_GLOBAL"] = str(home / "gitconfig")
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    for name in ("APISEED_TEMPLATE", "APISEED_DEFAULTS"):
        os.environ.pop(name, None)


@pytest.fixture
def git_config() -> Iterator[Path]:
    """The tests' global git config; what a test adds to it is removed afterwards."""
    path = Path(os.environ["GIT_CONFIG_GLOBAL"])
    original = path.read_text(encoding="utf-8")
    yield path
    path.write_text(original, encoding="utf-8")


TemplateFactory = Callable[[str], Path]
Commit = Callable[[Path], None]
Release = Callable[[Path, str], None]


def release_all(repo: Path, tag: str) -> None:
    """Release the template in ``repo`` as it is now: commit everything, tag it ``tag``."""
    commit_all(repo, f"release {tag}")
    run_git(repo, "tag", tag)


@pytest.fixture(scope="session")
def release() -> Release:
    """The function releasing a template repository's working tree as a version tag."""
    return release_all


@pytest.fixture(scope="session")
def commit() -> Commit:
    """The function committing everything in a folder, as a user does before updating."""
    return commit_all


@pytest.fixture(scope="session")
def make_template_repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateFactory:
    """A function making a git repository of the working copy, tagged ``tag``."""

    def make(tag: str) -> Path:
        repo = working_copy(REPO, tmp_path_factory.mktemp("template"))
        release_all(repo, tag)
        return repo

    return make


@pytest.fixture(scope="session")
def template_repo(make_template_repo: TemplateFactory) -> Path:
    """The working copy as a template repository at release v1.0.0."""
    return make_template_repo("v1.0.0")


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain copy of the template's working tree, uncommitted changes included."""
    return working_copy(bundled_template(), tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session", autouse=True)
def shared_mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Generated projects share one mypy cache per test process: re-checking another variant
    costs ~1 s instead of ~20 s. mypy re-checks whatever changed; python_version is part of
    the cache key."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MYPY_CACHE_DIR", str(tmp_path_factory.mktemp("mypy-cache")))
        yield


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL server for the PostgreSQL variants (.ci/run starts one and requires it).

    Without one, those variants skip, unless APISEED_REQUIRE_POSTGRES is set: then they fail.
    """
    url = os.environ.get(POSTGRES_URL)
    problem = f"{POSTGRES_URL} is not set (.ci/run starts a server and sets it)"
    if url:
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as error:
            problem = f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}"
        else:
            return url
    if os.environ.get(REQUIRE_POSTGRES):
        pytest.fail(f"{REQUIRE_POSTGRES} is set but {problem}")
    pytest.skip(f"PostgreSQL variants need a server: {problem}")

"""Authentication: each auth choice renders a project that passes its own checks, securely."""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import copier
import httpx2
import pytest
from helpers import check_variant, render_variant, serving

PKG = "src/my_service"
PREFIX = "MY_SERVICE_"
# The smallest project: every optional feature off, so only the auth choice adds files.
MINIMAL = {
    "database": "none",
    "background_tasks": False,
    "middleware": False,
    "cors_origins": [],
    "static_files": False,
}
AUTH_FILES = {
    "api_key": {
        ".env",
        f"{PKG}/auth/__init__.py",
        f"{PKG}/auth/api_key.py",
        f"{PKG}/auth/throttle.py",
        f"{PKG}/config/api_keys.py",
        f"{PKG}/config/secret_rules.py",
        f"{PKG}/config/throttle.py",
        "tests/auth/test_api_key.py",
        "tests/auth/test_settings.py",
        "tests/auth/test_throttle.py",
        "tests/fixtures/api_keys.py",
    },
    "jwt": {
        ".env",
        f"{PKG}/auth/__init__.py",
        f"{PKG}/auth/passwords.py",
        f"{PKG}/auth/throttle.py",
        f"{PKG}/auth/tokens.py",
        f"{PKG}/config/secret_rules.py",
        f"{PKG}/config/throttle.py",
        f"{PKG}/config/tokens.py",
        f"{PKG}/users/__init__.py",
        f"{PKG}/users/commands.py",
        f"{PKG}/users/dependencies.py",
        f"{PKG}/users/router.py",
        f"{PKG}/users/schemas.py",
        f"{PKG}/users/service.py",
        "tests/auth/test_passwords.py",
        "tests/auth/test_settings.py",
        "tests/auth/test_throttle.py",
        "tests/auth/test_tokens.py",
        "tests/fixtures/passwords.py",
        "tests/fixtures/tokens.py",
        "tests/fixtures/users.py",
        "tests/items/test_ownership.py",
        "tests/users/test_commands.py",
        "tests/users/test_router.py",
    },
}
# Each with a database: the model and the revision behind the users; without one, the
# users live in the settings.
DATABASE_AUTH_FILES = {
    "api_key": set(),
    "jwt": {f"{PKG}/users/models.py", "migrations/versions/0002_users.py"},
}
NO_DATABASE_AUTH_FILES = {"api_key": set(), "jwt": {f"{PKG}/config/users.py"}}
# Each auth choice with each database; every feature on, or off with the docs moved or off.
VARIANTS: dict[str, dict[str, Any]] = {
    "none": {"auth": "none", "database": "none"},
    "api_key": {"auth": "api_key", "database": "none"},
    "api_key-sqlite-minimal-no-docs": {
        "auth": "api_key",
        **MINIMAL,
        "database": "sqlite",
        "openapi_url": "",
    },
    "api_key-postgresql": {"auth": "api_key", "database": "postgresql"},
    "jwt": {"auth": "jwt", "database": "none"},
    "jwt-sqlite": {"auth": "jwt", "database": "sqlite"},
    "jwt-postgresql-minimal-docs-moved-py310": {
        "auth": "jwt",
        **MINIMAL,
        "database": "postgresql",
        "openapi_url": "/api/v1/openapi.json",
        "docs_url": "/api/v1/docs",
        "redoc_url": "",
        "python_version": "3.10",
    },
}


def generate(template: Path, dest: Path, **answers: Any) -> Path:
    return render_variant(template, dest, {"database": "none", **answers})


@pytest.fixture(scope="module")
def rendered(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Projects shared by the tests that only read them, rendered once per set of answers."""
    projects: dict[str, Path] = {}

    def project(**answers: Any) -> Path:
        key = json.dumps(answers, sort_keys=True)
        if key not in projects:
            dest = tmp_path_factory.mktemp("project") / "project"
            projects[key] = generate(template, dest, **answers)
        return projects[key]

    return project


def files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def project_env() -> dict[str, str]:
    """The environment without any of the generated project's own settings."""
    return {name: value for name, value in os.environ.items() if not name.startswith(PREFIX)}


def run(
    project: Path, *command: str, stdin: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m command`` in the project, with its source importable and only ``env``'s
    settings of its own."""
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=project,
        input=stdin,
        env={
            **project_env(),
            "PYTHONPATH": str(project / "src"),
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def check(project: Path, *command: str) -> None:
    result = run(project, *command)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("answers", VARIANTS.values(), ids=VARIANTS.keys())
def test_variant_passes_its_own_checks(
    template: Path, tmp_path: Path, request: pytest.FixtureRequest, answers: dict[str, Any]
) -> None:
    check_variant(template, tmp_path / "project", answers, request)


@pytest.mark.parametrize("database", ["none", "sqlite"])
@pytest.mark.parametrize("auth", ["api_key", "jwt"])
def test_auth_adds_exactly_its_files(
    rendered: Callable[..., Path], auth: str, database: str
) -> None:
    without = files(rendered(auth="none", **{**MINIMAL, "database": database}))
    with_auth = files(rendered(auth=auth, **{**MINIMAL, "database": database}))
    with_database = DATABASE_AUTH_FILES if database != "none" else NO_DATABASE_AUTH_FILES
    expected = AUTH_FILES[auth] | with_database[auth]

    assert with_auth - without == expected
    assert without - with_auth == set()


def test_no_auth_renders_nothing_auth_related(rendered: Callable[..., Path]) -> None:
    project = rendered(auth="none")
    words = re.compile(r"jwt|api.?key|bearer|password|pwdlib|multipart|secret|token|authoriz", re.I)

    # The template-update workflow hands GitHub's own token to the gh CLI: not the service's auth.
    github = re.compile(r"GH_TOKEN: \$\{\{ github\.token \}\}")
    mentions = [
        name
        for name in files(project) - {".copier-answers.yml"}
        if words.search(github.sub("", (project / name).read_text(encoding="utf-8")))
    ]

    assert mentions == []
    assert not (project / ".env").exists()


def dependencies(project: Path) -> list[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    names: list[str] = pyproject["project"]["dependencies"]
    return names


def test_dependencies_have_safe_floors(rendered: Callable[..., Path]) -> None:
    jwt = dependencies(rendered(auth="jwt"))
    api_key = dependencies(rendered(auth="api_key"))

    assert {"pwdlib[argon2]>=0.3.1", "pyjwt>=2.15", "python-multipart>=0.0.31"} <= set(jwt)
    assert "starlette>=1.3.1" in jwt
    assert "starlette>=1.3.1" in api_key
    assert "limits>=5.0" in jwt
    assert "limits>=5.0" in api_key
    assert not [name for name in api_key if re.match("pwdlib|pyjwt|python-multipart", name)]


@pytest.mark.parametrize("auth", ["api_key", "jwt"])
def test_no_jose_or_passlib_anywhere(rendered: Callable[..., Path], auth: str) -> None:
    project = rendered(auth=auth)

    assert not [
        name
        for name in files(project)
        if re.search("jose|passlib", (project / name).read_text(encoding="utf-8"), re.I)
    ]


SECRET_SETTINGS = {"api_key": f"{PREFIX}API_KEYS", "jwt": f"{PREFIX}JWT_SECRET"}


def secret(project: Path, setting: str) -> str:
    found = re.search(rf"^{setting}=(.*)$", (project / ".env").read_text(), re.M)
    assert found is not None
    return found[1]


@pytest.mark.parametrize("auth", ["api_key", "jwt"])
def test_each_project_gets_its_own_secret_kept_out_of_git_and_answers(
    template: Path, tmp_path: Path, auth: str
) -> None:
    setting = SECRET_SETTINGS[auth]
    first = generate(template, tmp_path / "first", auth=auth)
    second = generate(template, tmp_path / "second", auth=auth)
    value = secret(first, setting)
    subprocess.run(["git", "init", "-q"], cwd=first, check=True)
    subprocess.run(["git", "add", "-A"], cwd=first, check=True)
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=first, check=True, capture_output=True, text=True
    ).stdout.split()

    assert re.fullmatch("[0-9a-f]{64}", value)  # 256 bits from Python's SystemRandom
    assert secret(second, setting) != value
    assert ".env" not in tracked
    assert value not in (first / ".copier-answers.yml").read_text()
    assert ".copier-answers.yml" in tracked
    assert [name for name in tracked if value in (first / name).read_text()] == []
    assert f"\n{setting}=\n" in (first / ".env.example").read_text()


def test_apiseed_new_writes_the_secrets_readable_by_the_owner_only(
    template: Path, tmp_path: Path
) -> None:
    from apiseed.project.render import generate as apiseed_new

    project = apiseed_new(template, tmp_path / "p", {"database": "none"}, defaults=True)

    assert (project / ".env").stat().st_mode & 0o777 == 0o600


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_copier_update_keeps_the_projects_secret(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ["GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"]:
        monkeypatch.setenv(variable, "apiseed tests")
    for variable in ["GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"]:
        monkeypatch.setenv(variable, "tests@apiseed.invalid")
    versioned = tmp_path / "template"
    shutil.copytree(template, versioned)
    git(versioned, "init", "-q")
    git(versioned, "add", "-A")
    git(versioned, "commit", "-qm", "v1")
    git(versioned, "tag", "v1.0.0")
    project = tmp_path / "project"
    copier.run_copy(
        str(versioned), str(project), data={"auth": "jwt", "database": "none"}, defaults=True
    )
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")
    before = (project / ".env").read_text()
    readme = versioned / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nVersion 2.\n")
    git(versioned, "commit", "-qam", "v2")
    git(versioned, "tag", "v2.0.0")

    copier.run_update(str(project), defaults=True, overwrite=True, quiet=True)

    assert (project / "README.md").read_text().endswith("Version 2.\n")
    assert (project / ".env").read_text() == before


@pytest.mark.parametrize(
    ("auth", "value", "problem"),
    [
        ("jwt", "", "must be set outside development and test"),
        ("jwt", "change-me", "at least 32 bytes"),
        ("jwt", "change-me-" + "x" * 40, "placeholder"),
        ("api_key", "", "must list at least one key"),
        ("api_key", "short", "at least 32 bytes"),
    ],
)
def test_production_refuses_to_start_with_a_weak_secret(
    rendered: Callable[..., Path], auth: str, value: str, problem: str
) -> None:
    project = rendered(auth=auth)
    setting = SECRET_SETTINGS[auth]

    result = run(project, "my_service", env={f"{PREFIX}ENVIRONMENT": "production", setting: value})

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert setting in result.stderr
    assert problem in result.stderr


@pytest.fixture(params=["none", "sqlite"])
def served_jwt_project(
    template: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A generated JWT project with one user made by its README's commands, served by
    ``python -m my_service``."""
    database: str = request.param
    project = generate(
        template, tmp_path / "project", auth="jwt", **{**MINIMAL, "database": database}
    )
    if database != "none":
        check(project, "alembic", "upgrade", "head")
    created = run(
        project,
        "my_service",
        "create-user",
        "ann",
        "--password-stdin",
        stdin="ann's long password\n",
    )
    assert created.returncode == 0, created.stderr
    if database == "none":
        with (project / ".env").open("a") as env_file:
            env_file.write(created.stdout)
    env = {**project_env(), "PYTHONPATH": str(project / "src")}
    with serving([sys.executable, "-m", "my_service"], project, env, f"{PREFIX}PORT") as url:
        yield url


def test_created_user_logs_in_to_the_served_project(served_jwt_project: str) -> None:
    url = served_jwt_project
    login = httpx2.post(f"{url}/token", data={"username": "ann", "password": "ann's long password"})
    token = login.json()["access_token"]

    me = httpx2.get(f"{url}/users/me", headers={"Authorization": f"Bearer {token}"})
    anonymous = httpx2.get(f"{url}/items")

    assert me.json() == {"username": "ann", "full_name": None, "disabled": False}
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"

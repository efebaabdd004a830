"""``apiseed check --fresh``: install variants as a user would, each into its own clean venv.

The main check runs every variant in one shared environment; this proves that a variant's own
declaration is enough to pass its own tests, installed as its README says (``uv sync``: the
project and its ``dev`` group) with the Python version it was generated for. Variants install
in parallel threads, so a step's CPU time here also counts what the other threads' children
used.
"""

import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from apiseed.matrix.check import Outcome, Progress, Report, in_scratch
from apiseed.matrix.declaration import matrix
from apiseed.matrix.steps import (
    package_of,
    python_for,
    recorded_answers,
    run_tests_in_venv,
    test_environment,
    timed,
)
from apiseed.matrix.variants import Variant
from apiseed.matrix.worker import Run
from apiseed.matrix.worker import render as render_variant


def fresh(
    template: Path,
    variants: Sequence[Variant],
    *,
    jobs: int,
    keep: Path | None = None,
    progress: Progress | None = None,
) -> Report:

    def steps(run: Run, outcomes: list[Outcome], report: Progress) -> None:
        report("render", 0, len(outcomes))
        for done, outcome in enumerate(outcomes, 1):  # Copier in this one thread
            outcome.timings, outcome.failure = render_variant(run, outcome.variant)
            report("render", done, len(outcomes))
        ready = [outcome for outcome in outcomes if outcome.failure is None]
        report("install+tests", 0, len(ready))
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            finished = pool.map(lambda outcome: _install_and_test(run, outcome), ready)
            for done, _ in enumerate(finished, 1):
                report("install+tests", done, len(ready))

    return in_scratch("apiseed-fresh-", template, variants, steps, jobs, keep, progress)


def _install_and_test(run: Run, outcome: Outcome) -> None:
    tree = run.trees / outcome.variant.id

    def install_and_test() -> None:
        declared = matrix(run.template)
        package = package_of(tree, declared)
        env = test_environment(declared, outcome.variant, package, run.postgres_url)
        version = recorded_answers(tree).get(declared.python_question or "")
        python = python_for(str(version)) if version else sys.executable
        venv = run.root / "venvs" / outcome.variant.id
        run_tests_in_venv(tree, python, env, venv, run.root / f"{outcome.variant.id}.log")

    if outcome.failure is None:
        outcome.failure = timed(outcome.timings, "tests", install_and_test)

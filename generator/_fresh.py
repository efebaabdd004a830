"""``apiseed check --fresh``: install variants as a user would, each into its own clean venv.

The main check runs every variant in one shared environment; this proves that a variant's own
declaration (``pip install -e ".[dev]"``) is enough to pass its own tests. Variants install in
parallel threads, so a step's CPU time here also counts what the other threads' children used.
"""

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from generator._check import Outcome, Progress, Report, in_scratch
from generator._steps import (
    StepFailedError,
    first_line,
    package_of,
    test_environment,
    timed,
)
from generator._variants import Variant
from generator._worker import Run
from generator._worker import render as render_variant

INSTALL_TIMEOUT = 900


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
    venv = run.root / "venvs" / outcome.variant.id
    python = venv / "bin" / "python"

    def install() -> None:
        _run("install", [sys.executable, "-m", "venv", str(venv)], tree, {})
        command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        _run("install", [*command, "-e", ".[dev]"], tree, {})

    def tests() -> None:
        env = test_environment(outcome.variant, package_of(tree), run.postgres_url)
        _run("tests", [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], tree, env)

    _step(outcome, "install", install)
    _step(outcome, "tests", tests)


def _run(step: str, command: list[str], cwd: Path, env: dict[str, str]) -> None:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            env={**environment, **env},
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise StepFailedError(step, f"{command[2]} took longer than {INSTALL_TIMEOUT} s") from None
    if result.returncode != 0:
        output = result.stdout + result.stderr
        lines = output.splitlines()
        summary = [line for line in lines if line.startswith(("FAILED", "ERROR", "error:"))]
        message = summary[0] if summary else first_line(output)
        raise StepFailedError(step, message, output)


def _step(outcome: Outcome, step: str, action: Callable[[], None]) -> None:
    if outcome.failure is None:
        outcome.failure = timed(outcome.timings, step, action)

"""``apiseed check``: render variants and verify each one, cheap steps first, in parallel.

1. render + files (workers): Copier's Python API from one working copy of the template;
2. ruff: one ``ruff check`` and one ``ruff format --check`` over every tree that got this far;
   lint: one run of each linter of the other files (hadolint) over the trees ruff passed;
3. deps, mypy, tests, wheel (workers, per variant).

A variant stops at its first failing step. Workers are long-lived processes that import the
heavy libraries once, each with a mypy server beside it (``apiseed.matrix.worker``, ``_mypy``).
"""

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from apiseed.matrix import accel, extra
from apiseed.matrix.declaration import client_test
from apiseed.matrix.pool import Pool
from apiseed.matrix.steps import (
    POSTGRES_URL_VARIABLE,
    Failure,
    StepFailedError,
    Timings,
    cpu_seconds,
    lint,
    ruff,
)
from apiseed.matrix.variants import Variant
from apiseed.matrix.worker import Run

if TYPE_CHECKING:
    from apiseed.matrix.cache import ResultCache


@dataclass
class Outcome:
    variant: Variant
    timings: Timings = field(default_factory=Timings)
    failure: Failure | None = None
    cached: tuple[str, ...] = ()  # the steps whose pass was taken from the cache


@dataclass
class Report:
    outcomes: list[Outcome]
    wall_seconds: float
    cpu_seconds: float
    jobs: int
    # Each accelerator's state, "on" or "off: <why>" (``apiseed.matrix.accel``).
    accelerators: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.failure is not None]

    def steps(self, kind: str = "wall") -> dict[str, list[float]]:
        """Each step's seconds (``wall`` or ``cpu``), one per variant that ran it."""
        found: dict[str, list[float]] = {}
        for outcome in self.outcomes:
            for step, seconds in getattr(outcome.timings, kind).items():
                found.setdefault(step, []).append(seconds)
        return found

    def medians(self, kind: str = "wall") -> dict[str, float]:
        """Median seconds per variant of each step, over the variants that ran it."""
        return {step: statistics.median(values) for step, values in self.steps(kind).items()}

    def totals(self, kind: str = "wall") -> dict[str, float]:
        """Seconds spent in each step, summed over the variants."""
        return {step: sum(values) for step, values in self.steps(kind).items()}


Progress = Callable[[str, int, int], None]  # (phase, done, total)


def check(
    template: Path,
    variants: Sequence[Variant],
    *,
    jobs: int,
    keep: Path | None = None,
    progress: Progress | None = None,
    fuzz: bool = False,
    client: bool = False,
    cache: "ResultCache | None" = None,
    accelerators: dict[str, str] | None = None,
) -> Report:
    """Check ``variants`` of the template at ``template`` (its files as they are on disk);
    with ``fuzz``, also fuzz each variant's API; with ``client``, also drive it through a
    generated client (the test ``client:`` names in matrix.yml); with ``cache``, only
    the variants whose rendered tree has no passing verdict there yet. ``accelerators`` is
    ``apiseed.matrix.accel.plan()``'s answer, asked here when not given."""
    states = accel.plan() if accelerators is None else accelerators

    def steps(run: Run, outcomes: list[Outcome], report: Progress) -> None:
        with Pool(jobs, cwd=run.root) as pool:
            _phase(pool, "render", run, outcomes, report)
            survivors = [outcome for outcome in outcomes if outcome.failure is None]
            if cache is not None:
                survivors = cache.skip_known(run.trees, survivors)
            report("ruff", 0, 1)
            _all_trees(run, survivors, "ruff", ruff)
            report("ruff", 1, 1)
            _all_trees(run, [o for o in survivors if o.failure is None], "lint", lint)
            _phase(pool, "verify", run, [o for o in survivors if o.failure is None], report)
        _save_mypy_seed(run)
        if cache is not None:
            cache.record(survivors)

    on = tuple(name for name, state in states.items() if state == accel.ON)
    client_file = client_test(template) if client else None
    report = in_scratch(
        "apiseed-check-", template, variants, steps, jobs, keep, progress, fuzz, on, client_file
    )
    report.accelerators = states
    return report


def in_scratch(
    prefix: str,
    template: Path,
    variants: Sequence[Variant],
    steps: Callable[[Run, list[Outcome], Progress], None],
    jobs: int,
    keep: Path | None,
    progress: Progress | None,
    fuzz: bool = False,
    accelerators: tuple[str, ...] = (),
    client: Path | None = None,
) -> Report:
    """Run ``steps`` over the variants in a scratch folder, timed, keeping failed trees."""
    from apiseed.template import working_copy

    extra.require()

    started, cpu = time.perf_counter(), cpu_seconds()
    root = scratch(prefix)
    outcomes = [Outcome(variant) for variant in variants]
    try:
        run = Run(
            root=root,
            template=working_copy(template, root / "template"),
            postgres_url=os.environ.get(POSTGRES_URL_VARIABLE) or None,
            mypy_seed=mypy_seed(template),
            fuzz=fuzz,
            client=client,
            accelerators=accelerators,
        )
        run.trees.mkdir()
        steps(run, outcomes, progress or (lambda phase, done, total: None))
        if keep is not None:
            keep_failed(run.trees, outcomes, keep)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return Report(outcomes, time.perf_counter() - started, cpu_seconds() - cpu, jobs)


def _phase(pool: Pool, task: str, run: Run, outcomes: list[Outcome], report: Progress) -> None:
    report(task, 0, len(outcomes))
    results = pool.map(task, [(run, outcome.variant) for outcome in outcomes])
    for done, (index, (timings, failure)) in enumerate(results, 1):
        outcomes[index].timings.add(timings)
        outcomes[index].failure = failure
        report(task, done, len(outcomes))


def _all_trees(
    run: Run,
    outcomes: list[Outcome],
    step: str,
    linter: Callable[[Path, Sequence[str]], dict[str, StepFailedError]],
) -> None:
    """A step that runs once over every tree (``ruff`` or ``lint``), its time shared out."""
    if not outcomes:
        return
    started, cpu = time.perf_counter(), cpu_seconds()
    failed = linter(run.trees, [outcome.variant.id for outcome in outcomes])
    wall_share = (time.perf_counter() - started) / len(outcomes)
    cpu_share = (cpu_seconds() - cpu) / len(outcomes)
    for outcome in outcomes:
        outcome.timings.wall[step] = wall_share
        outcome.timings.cpu[step] = cpu_share
        error = failed.get(outcome.variant.id)
        if error is not None:
            outcome.failure = Failure(error.step, error.message, error.detail)


def scratch(prefix: str) -> Path:
    """A new folder for a run's files, in memory when the machine has a tmpfs at /dev/shm.

    The variants' tests write SQLite databases and commit often; on a disk each commit waits
    for fsync, in memory it does not (the tests are the same, only their temporary files move).
    """
    memory = Path("/dev/shm")
    where = memory if memory.is_dir() and os.access(memory, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=where)).resolve()


def mypy_seed(template: Path) -> Path:
    """Where a fine-grained mypy cache is kept between runs (mypy checks every entry before
    trusting it): one per template, told apart by its questions' names, so that checking
    another template does not replace this one's."""
    import hashlib

    from apiseed.template import questions

    names = " ".join(question.name for question in questions(template))
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(names.encode()).hexdigest()[:12]
    return Path(cache_home) / "apiseed" / f"mypy-fine-grained-{key}"


def _save_mypy_seed(run: Run) -> None:
    """Keep one worker's mypy cache for the next run: copied aside, then renamed into place."""
    caches = sorted(path for path in (run.root / "mypy").glob("*/cache") if path.is_dir())
    if run.mypy_seed is None or not caches:
        return
    run.mypy_seed.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=".mypy-", dir=run.mypy_seed.parent))
    shutil.copytree(caches[0], fresh, dirs_exist_ok=True)
    old = run.mypy_seed.with_name(f"{fresh.name}-old")
    try:
        if run.mypy_seed.exists():
            run.mypy_seed.rename(old)
        fresh.rename(run.mypy_seed)
    except OSError:  # another run got there first: its cache is as good
        pass
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def keep_failed(trees: Path, outcomes: list[Outcome], keep: Path) -> None:
    """Copy each failed variant's tree to ``keep``, with the failure's full output beside it."""
    for outcome in outcomes:
        tree = trees / outcome.variant.id
        if outcome.failure is None or not tree.exists():
            continue
        destination = keep / outcome.variant.id
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(tree, destination, symlinks=True)
        (destination / "apiseed-check-failure.txt").write_text(
            f"step: {outcome.failure.step}\n\n{outcome.failure.detail}\n", encoding="utf-8"
        )

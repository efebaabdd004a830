"""Showing a check: progress while it runs, then failures and timings, a JUnit file and a
JSON file."""

import json
import re
import time
from pathlib import Path
from types import TracebackType
from xml.etree import ElementTree

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn
from rich.table import Table

from apiseed.matrix.check import Report

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML forbids


class Display:
    """A progress callback: a rich progress bar per phase on a terminal, a line per phase else."""

    def __init__(self, console: Console, count: int) -> None:
        self._console = console
        self._count = count
        self._started = time.perf_counter()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> "Display":
        if self._console.is_terminal:
            self._progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=False,
            )
            self._progress.start()
        else:
            self._console.print(f"checking {self._count} variant(s)")
        return self

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self._progress is not None:
            if phase not in self._tasks:
                self._tasks[phase] = self._progress.add_task(phase, total=total)
            self._progress.update(self._tasks[phase], completed=done, total=total)
        elif done == total:
            elapsed = time.perf_counter() - self._started
            self._console.print(f"{phase}: {done}/{total} done at {elapsed:.1f} s")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()


def print_report(console: Console, report: Report) -> None:
    if report.failures and console.is_terminal:
        table = Table("variant", "step", "first error", title="Failures")
        for outcome in report.failures:
            assert outcome.failure is not None
            table.add_row(outcome.variant.id, outcome.failure.step, outcome.failure.message)
        console.print(table)
    for outcome in report.failures if not console.is_terminal else []:
        assert outcome.failure is not None  # plain lines: one per failure, easy to grep in logs
        failure = outcome.failure
        console.print(
            f"FAILED {outcome.variant.id} [{failure.step}] {failure.message}",
            soft_wrap=True,
            markup=False,
        )
    timings = Table(
        "step",
        "median wall s/variant",
        "median CPU s/variant",
        "total CPU s",
        title="Where the time went",
    )
    cpu = report.medians("cpu")
    totals = report.totals("cpu")
    for step, median in report.medians().items():
        timings.add_row(step, f"{median:.3f}", f"{cpu[step]:.3f}", f"{totals[step]:.1f}")
    console.print(timings)
    passed = len(report.outcomes) - len(report.failures)
    cached = sum(1 for outcome in report.outcomes if outcome.cached)
    from_cache = f" ({cached} from the cache)" if cached else ""
    console.print(
        f"{len(report.outcomes)} variant(s): {passed} passed{from_cache}, "
        f"{len(report.failures)} failed "
        f"in {report.wall_seconds:.1f} s wall, {report.cpu_seconds:.1f} s CPU, "
        f"{report.jobs} job(s)"
    )


def write_json(report: Report, path: Path) -> None:
    """The run as JSON: totals, the accelerators' states, and each variant's verdict and times
    (of the steps run now), and whether its pass came from the cache (``cached``, and the
    steps that covers)."""
    document = {
        "variants": len(report.outcomes),
        "passed": len(report.outcomes) - len(report.failures),
        "failed": len(report.failures),
        "cached": sum(1 for outcome in report.outcomes if outcome.cached),
        "wall_seconds": round(report.wall_seconds, 3),
        "cpu_seconds": round(report.cpu_seconds, 3),
        "jobs": report.jobs,
        "accelerators": report.accelerators,
        "outcomes": [
            {
                "id": outcome.variant.id,
                "features": sorted(outcome.variant.features),
                "passed": outcome.failure is None,
                "cached": bool(outcome.cached),
                "cached_steps": list(outcome.cached),
                "failure": None
                if outcome.failure is None
                else {"step": outcome.failure.step, "message": outcome.failure.message},
                "wall": outcome.timings.wall,
                "cpu": outcome.timings.cpu,
            }
            for outcome in report.outcomes
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def write_junit(report: Report, path: Path) -> None:
    """One test case per variant and step; steps after a failure are reported as skipped,
    steps whose pass came from the cache as passed with the property ``cached``."""
    failures = len(report.failures)
    suite = ElementTree.Element(
        "testsuite",
        name="apiseed check",
        tests="0",
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{report.wall_seconds:.3f}",
    )
    steps = list(report.steps())
    steps.extend(dict.fromkeys(s for o in report.outcomes for s in o.cached if s not in steps))
    cases = skipped = 0
    for outcome in report.outcomes:
        for step in steps:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=outcome.variant.id,
                name=step,
                time=f"{outcome.timings.wall.get(step, 0.0):.3f}",
            )
            cases += 1
            failure = outcome.failure
            if failure is not None and failure.step == step:
                message = _NOT_XML.sub("", failure.message)
                node = ElementTree.SubElement(case, "failure", message=message)
                node.text = _NOT_XML.sub("", failure.detail)
            elif step in outcome.cached:
                properties = ElementTree.SubElement(case, "properties")
                ElementTree.SubElement(properties, "property", name="cached", value="true")
            elif step not in outcome.timings.wall:
                ElementTree.SubElement(case, "skipped", message="an earlier step failed")
                skipped += 1
    suite.set("tests", str(cases))
    suite.set("skipped", str(skipped))
    root = ElementTree.Element("testsuites")
    root.append(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)

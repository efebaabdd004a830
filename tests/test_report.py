"""What ``apiseed check`` shows: its progress, then the failures, the timings and a JUnit file.

The reports are built from outcomes made here, so these tests take milliseconds;
``test_check.py`` runs real checks through the same code.
"""

import io
import json
import re
from pathlib import Path
from xml.etree import ElementTree

from rich.console import Console

from apiseed.matrix.check import Outcome, Report
from apiseed.matrix.report import Display, print_report, write_json, write_junit
from apiseed.matrix.steps import STEPS, Failure, Timings
from apiseed.matrix.variants import Variant


def timings(steps: tuple[str, ...], wall: float, cpu: float) -> Timings:
    return Timings(dict.fromkeys(steps, wall), dict.fromkeys(steps, cpu))


PASSED = Outcome(Variant("passes", {}, frozenset()), timings(STEPS, 1.0, 0.5))
FAILED = Outcome(
    Variant("fails", {}, frozenset()),
    timings(("render", "files", "ruff"), 3.0, 2.5),
    Failure("ruff", "main.py:1: F821 \x1b[1mundefined\x1b[0m", "whole output\x00 of ruff"),
)
REPORT = Report([PASSED, FAILED], wall_seconds=12.3456, cpu_seconds=20.25, jobs=2)
AFTER_RUFF = STEPS[STEPS.index("ruff") + 1 :]


def junit(report: Report, tmp_path: Path) -> ElementTree.Element:
    path = tmp_path / "reports" / "check" / "junit.xml"
    write_junit(report, path)
    assert path.read_text(encoding="utf-8").startswith("<?xml version='1.0' encoding='utf-8'?>")
    suite = ElementTree.parse(path).getroot().find("testsuite")
    assert suite is not None
    return suite


def cases(suite: ElementTree.Element, outcome: str) -> set[tuple[str | None, str | None]]:
    return {
        (case.get("classname"), case.get("name"))
        for case in suite.iter("testcase")
        if case.find(outcome) is not None
    }


def test_junit_has_a_case_per_variant_and_step(tmp_path: Path) -> None:
    suite = junit(REPORT, tmp_path)

    assert suite.attrib == {
        "name": "apiseed check",
        "tests": str(2 * len(STEPS)),
        "failures": "1",
        "errors": "0",
        "skipped": str(len(AFTER_RUFF)),
        "time": "12.346",
    }
    assert [(case.get("classname"), case.get("name")) for case in suite.iter("testcase")] == [
        (variant, step) for variant in ("passes", "fails") for step in STEPS
    ]
    times = {(case.get("classname"), case.get("name")): case.get("time") for case in suite}
    assert times["passes", "wheel"] == "1.000"
    assert times["fails", "ruff"] == "3.000"
    assert times["fails", "wheel"] == "0.000"


def test_junit_fails_the_failed_step_and_skips_the_later_ones(tmp_path: Path) -> None:
    suite = junit(REPORT, tmp_path)

    assert cases(suite, "failure") == {("fails", "ruff")}
    assert cases(suite, "skipped") == {("fails", step) for step in AFTER_RUFF}
    failure = suite.find("testcase[@classname='fails'][@name='ruff']/failure")
    assert failure is not None
    # XML cannot hold most control characters: they are dropped, the rest is kept.
    assert failure.get("message") == "main.py:1: F821 [1mundefined[0m"
    assert failure.text == "whole output of ruff"
    skipped = suite.find("testcase[@classname='fails'][@name='deps']/skipped")
    assert skipped is not None
    assert skipped.get("message") == "an earlier step failed"


def test_junit_of_a_passing_run_has_no_failures_or_skips(tmp_path: Path) -> None:
    junit(REPORT, tmp_path)
    suite = junit(Report([PASSED], 1.0, 1.0, 1), tmp_path)  # replaces the first

    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        str(len(STEPS)),
        "0",
        "0",
    )
    assert cases(suite, "failure") == cases(suite, "skipped") == set()


def report_text(report: Report, *, terminal: bool = False, width: int = 200) -> str:
    output = io.StringIO()
    print_report(Console(file=output, width=width, force_terminal=terminal), report)
    return output.getvalue()


def test_a_log_gets_one_line_per_failure_and_the_totals() -> None:
    text = report_text(REPORT)

    # Even in a narrow log, a failure stays on one line, for grep.
    assert "\nFAILED fails [ruff] main.py:1: F821 \x1b[1mundefined\x1b[0m\n" in (
        "\n" + report_text(REPORT, width=30)
    )
    assert "passes" not in text
    assert "Failures" not in text
    assert "2 variant(s): 1 passed, 1 failed in 12.3 s wall, 20.2 s CPU, 2 job(s)\n" in text


def test_a_terminal_gets_a_table_of_the_failures() -> None:
    text = report_text(REPORT, terminal=True)

    assert "Failures" in text
    assert re.search(r"fails\W+ruff\W+main.py:1: F821", text)
    assert "FAILED" not in text
    assert "Failures" not in report_text(Report([PASSED], 1.0, 1.0, 1), terminal=True)


def test_progress_in_a_log_is_a_line_per_finished_phase() -> None:
    output = io.StringIO()
    with Display(Console(file=output, width=200, force_terminal=False), 2) as display:
        for done in range(3):
            display("render", done, 2)
        display("ruff", 1, 1)

    lines = output.getvalue().splitlines()
    assert lines[0] == "checking 2 variant(s)"
    assert [re.sub(r"[0-9.]+ s$", "T s", line) for line in lines[1:]] == [
        "render: 2/2 done at T s",
        "ruff: 1/1 done at T s",
    ]
    assert float(lines[-1].split()[-2]) < 10  # seconds since the display started


def test_progress_on_a_terminal_is_a_bar_per_phase() -> None:
    output = io.StringIO()
    with Display(Console(file=output, width=100, force_terminal=True), 2) as display:
        display("render", 1, 2)
        display("render", 2, 2)
        display("ruff", 1, 1)

    text = output.getvalue()
    assert "checking" not in text
    assert "render" in text
    assert "2/2" in text
    assert "1/1" in text


def test_the_timings_are_medians_per_variant_and_totals_per_step() -> None:
    rows = {
        cells[0]: cells[1:]
        for line in report_text(REPORT).splitlines()
        if len(cells := [cell.strip() for cell in line.split("│")[1:-1]]) == 4
    }

    # Both variants ran ruff (1 and 3 s wall, 0.5 and 2.5 s CPU); one of them ran wheel.
    assert rows["ruff"] == ["2.000", "1.500", "3.0"]
    assert rows["wheel"] == ["1.000", "0.500", "0.5"]
    assert list(rows) == list(STEPS)


CACHED_STEPS = ("ruff", "lint", "deps", "mypy", "tests", "wheel")
CACHED = Outcome(
    Variant("from-cache", {}, frozenset({"cors"})),
    timings(("render", "files"), 0.5, 0.25),
    cached=CACHED_STEPS,
)
WITH_CACHED = Report([CACHED, FAILED], wall_seconds=4.0, cpu_seconds=3.0, jobs=2)


def test_junit_passes_the_steps_a_cached_verdict_covers_marked_cached(tmp_path: Path) -> None:
    suite = junit(WITH_CACHED, tmp_path)

    marked = {
        (case.get("classname"), case.get("name"))
        for case in suite.iter("testcase")
        if case.find("properties/property[@name='cached'][@value='true']") is not None
    }
    assert marked == {("from-cache", step) for step in CACHED_STEPS}
    assert cases(suite, "failure") == {("fails", "ruff")}
    assert cases(suite, "skipped") == {("fails", step) for step in CACHED_STEPS[1:]}
    times = {(case.get("classname"), case.get("name")): case.get("time") for case in suite}
    assert (times["from-cache", "render"], times["from-cache", "tests"]) == ("0.500", "0.000")


def test_the_json_report_says_which_verdicts_came_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.json"

    write_json(WITH_CACHED, path)

    found = json.loads(path.read_text(encoding="utf-8"))
    assert {key: found[key] for key in ("variants", "passed", "failed", "cached", "jobs")} == {
        "variants": 2,
        "passed": 1,
        "failed": 1,
        "cached": 1,
        "jobs": 2,
    }
    assert found["outcomes"][0] == {
        "id": "from-cache",
        "features": ["cors"],
        "passed": True,
        "cached": True,
        "cached_steps": list(CACHED_STEPS),
        "failure": None,
        "wall": {"render": 0.5, "files": 0.5},
        "cpu": {"render": 0.25, "files": 0.25},
    }
    assert found["outcomes"][1]["cached"] is False
    assert found["outcomes"][1]["failure"] == {
        "step": "ruff",
        "message": "main.py:1: F821 \x1b[1mundefined\x1b[0m",
    }


def test_the_totals_count_the_verdicts_from_the_cache() -> None:
    assert "2 variant(s): 1 passed (1 from the cache), 1 failed in 4.0 s wall" in report_text(
        WITH_CACHED
    )

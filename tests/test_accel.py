"""The check's accelerators (``apiseed.matrix.accel``): the same verdicts on or off, on only for
the versions they were tested with, all of one or none of it, and loud when off."""

import json
from pathlib import Path

import copier._main
import pytest
from test_check import FEW, REPO, WITH_MIDDLEWARE, broken_template, failures
from typer.testing import CliRunner

from apiseed.cli import app
from apiseed.matrix import accel
from apiseed.matrix.check import check
from apiseed.matrix.variants import by_ids

MIDDLEWARE_TESTS = "template/tests/{% if middleware %}test_middleware.py{% endif %}"
BROKEN_TEST = "\n\ndef test_arithmetic() -> None:\n    assert 1 + 1 == 3\n"


def test_the_installed_versions_are_accelerated() -> None:
    """The versions this repository installs are the tested ones: CI runs accelerated."""
    assert accel.plan() == dict.fromkeys(accel.NAMES, accel.ON)
    assert accel.plan(enabled=False) == dict.fromkeys(accel.NAMES, accel.TURNED_OFF)
    assert accel.warnings(accel.plan()) == []
    assert accel.warnings(accel.plan(enabled=False)) == [
        "accelerators turned off (--no-accel); the check runs slower, same verdicts"
    ]


def test_verdicts_are_the_same_with_and_without_accelerators(tmp_path: Path) -> None:
    template = broken_template(tmp_path, MIDDLEWARE_TESTS, BROKEN_TEST)
    variants = by_ids(REPO, FEW)

    on = check(template, variants, jobs=2, accelerators=accel.plan())
    off = check(template, variants, jobs=2, accelerators=accel.plan(enabled=False))

    assert set(on.accelerators.values()) == {accel.ON}
    assert set(off.accelerators.values()) == {accel.TURNED_OFF}
    assert failures(on) == failures(off)
    assert set(failures(on)) == WITH_MIDDLEWARE
    for step, message in failures(on).values():
        assert step == "tests"
        assert "test_middleware.py::test_arithmetic" in message


def test_an_unknown_version_runs_unaccelerated_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Copier release the accelerator was not tested with: that accelerator is off, a warning
    says so, the JSON report records it, and the check passes as it would."""
    installed = accel.installed_version
    monkeypatch.setattr(
        accel,
        "installed_version",
        lambda name: "9.99.0" if name == "copier" else installed(name),
    )
    report = tmp_path / "report.json"

    result = CliRunner().invoke(app, ["check", "--ids", FEW[3], "--json", str(report)])

    assert result.exit_code == 0, result.output
    assert (
        "warning: accelerator copier off: copier 9.99.0 is not a version it was tested with "
        "(>=9.19.1,<9.20); the check runs slower, same verdicts"
    ) in " ".join(result.stderr.split())
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["accelerators"]["copier"].startswith("off: copier 9.99.0")
    assert document["accelerators"]["jinja"] == "on"
    assert [outcome["failure"] for outcome in document["outcomes"]] == [None]


def test_an_accelerator_missing_a_target_patches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(copier._main, "is_git_available")

    assert accel.plan()["copier"] == "off: copier._main.is_git_available not found"
    with pytest.raises(accel.AcceleratorError, match="is_git_available not found"):
        accel.activate(["copier"])
    assert not hasattr(copier._main, "is_git_available")

"""The matrix engine on a template that is not apiseed's: ``tests/templates/greeter``, a small
Python library with an optional command line, whose ``matrix.yml`` declares two axes."""

import json
import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from apiseed.cli import app

GREETER = Path(__file__).resolve().parent / "templates" / "greeter"
IDS = [
    "none-cli",
    "none-nocli",
    "MIT-cli",
    "MIT-nocli",
    "Apache_2.0-cli",
    "Apache_2.0-nocli",
]


def test_its_variants_are_the_axes_it_declares() -> None:
    result = CliRunner().invoke(app, ["variants", "--template", str(GREETER), "-f", "json"])

    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [entry["id"] for entry in listed] == IDS
    assert listed[4]["answers"] == {"license": "Apache-2.0", "cli": True}
    assert listed[4]["features"] == ["cli", "license", "license:Apache-2.0"]


def test_its_full_tier_passes_every_step() -> None:
    result = CliRunner().invoke(
        app, ["check", "--template", str(GREETER), "--tier", "full", "--jobs", "1"]
    )

    assert result.exit_code == 0, result.output
    assert "6 variant(s): 6 passed, 0 failed" in result.stdout
    for step in ("render", "files", "ruff", "deps", "mypy", "tests", "wheel"):
        assert f"│ {step} " in result.stdout, step  # a row of the timings table


def test_a_file_of_a_feature_that_is_off_fails_at_files(tmp_path: Path) -> None:
    template = shutil.copytree(GREETER, tmp_path / "greeter")
    package = template / "template" / "src" / "{{ package_name }}"
    (package / "{% if cli %}__main__.py{% endif %}.jinja").rename(package / "__main__.py.jinja")

    result = CliRunner().invoke(
        app, ["check", "--template", str(template), "--ids", "MIT-cli,MIT-nocli", "--jobs", "1"]
    )

    assert result.exit_code == 1
    assert (
        "FAILED MIT-nocli [files] src/greeter/__main__.py: present for feature 'cli', which is off"
        in result.stdout
    )
    assert "FAILED MIT-cli" not in result.stdout


def test_a_question_the_matrix_does_not_mention_is_a_one_line_error(tmp_path: Path) -> None:
    template = shutil.copytree(GREETER, tmp_path / "greeter")
    config = yaml.safe_load((template / "copier.yml").read_text(encoding="utf-8"))
    config["cache"] = {"type": "str", "choices": ["none", "redis"], "default": "none"}
    (template / "copier.yml").write_text(yaml.safe_dump(config), encoding="utf-8")

    result = CliRunner().invoke(app, ["variants", "--template", str(template)])

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: {template / 'matrix.yml'}: question 'cache' is neither an axis nor held"
    )

    declared = yaml.safe_load((template / "matrix.yml").read_text(encoding="utf-8"))
    declared["axes"].append({"question": "cache"})
    (template / "matrix.yml").write_text(yaml.safe_dump(declared), encoding="utf-8")
    listed = CliRunner().invoke(app, ["variants", "--template", str(template), "-f", "json"])

    assert listed.exit_code == 0, listed.output
    ids = [entry["id"] for entry in json.loads(listed.stdout)]
    assert ids[:2] == ["none-cli-none", "none-cli-redis"]
    assert len(ids) == 12


def test_a_folder_without_a_matrix_is_a_one_line_error(tmp_path: Path) -> None:
    shutil.copy(GREETER / "copier.yml", tmp_path)

    result = CliRunner().invoke(app, ["variants", "--template", str(tmp_path)])

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: no matrix.yml in {tmp_path}: the template declares no matrix"
    )

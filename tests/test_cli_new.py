"""`apiseed new` and `apiseed features`, through the real command line."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from apiseed.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def use_working_copy(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APISEED_TEMPLATE", str(template))
    monkeypatch.delenv("APISEED_DEFAULTS", raising=False)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every path and its bytes; .env only by name, its secrets are random for every copy."""
    return {
        path.relative_to(root).as_posix(): (
            path.read_bytes() if path.is_file() and path.name != ".env" else b"<present>"
        )
        for path in sorted(root.rglob("*"))
    }


def answers(project: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return loaded


def test_new_with_defaults_and_data(tmp_path: Path) -> None:
    dest = tmp_path / "svc"

    result = runner.invoke(app, ["new", str(dest), "--defaults", "--data", "auth=api_key"])

    assert result.exit_code == 0, result.output
    assert f"Created {dest}" in result.output
    assert answers(dest)["auth"] == "api_key"
    assert answers(dest)["database"] == "sqlite"
    assert (dest / "src/my_service/main.py").is_file()


def test_data_wins_over_data_file(tmp_path: Path) -> None:
    data_file = tmp_path / "answers.yml"
    data_file.write_text("project_name: Billing\nmiddleware: false\nauth: none\n")

    result = runner.invoke(
        app,
        [
            *["new", str(tmp_path / "svc"), "--defaults", "--data-file", str(data_file)],
            *["--data", "auth=jwt", "--data", "cors_origins=[]"],
        ],
    )

    assert result.exit_code == 0, result.output
    recorded = answers(tmp_path / "svc")
    assert recorded["package_name"] == "billing"
    assert recorded["middleware"] is False
    assert recorded["auth"] == "jwt"
    assert recorded["cors_origins"] == []


def test_user_defaults_come_from_apiseed_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APISEED_DEFAULTS", '{"database": "none", "author_name": "Platform"}')

    result = runner.invoke(app, ["new", str(tmp_path / "svc"), "--defaults"])

    assert result.exit_code == 0, result.output
    assert answers(tmp_path / "svc")["database"] == "none"
    assert answers(tmp_path / "svc")["author_name"] == "Platform"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "auth=oauth"], "invalid answer for 'auth': 'oauth' is not in"),
        (["--data", "package_name=fastapi"], "invalid answer for 'package_name': must not shadow"),
        (["--data", "cors_origins=['*']"], "invalid answer for 'cors_origins': '*' is not"),
        (["--data", "databse=none"], "unknown question 'databse'"),
        (["--data", "auth"], "--data expects KEY=VALUE"),
    ],
)
@pytest.mark.parametrize("dest_state", ["absent", "empty"])
def test_bad_input_is_one_line_and_leaves_destination_as_it_was(
    tmp_path: Path, args: list[str], message: str, dest_state: str
) -> None:
    dest = tmp_path / "parent" / "svc"
    if dest_state == "empty":
        dest.mkdir(parents=True)
    before = snapshot(tmp_path)

    result = runner.invoke(app, ["new", str(dest), "--defaults", *args])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert message in result.output
    assert snapshot(tmp_path) == before


def test_non_empty_destination_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)

    result = runner.invoke(app, ["new", str(tmp_path / "svc"), "--defaults"])

    assert result.exit_code == 1
    assert "exists and is not an empty folder" in result.output
    assert snapshot(tmp_path) == before


def test_unreadable_data_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "answers.yml"
    bad.write_text("- a list, not answers\n")

    result = runner.invoke(app, ["new", str(tmp_path / "svc"), "--data-file", str(bad)])

    assert result.exit_code == 1
    assert "must hold a mapping of answers" in result.output


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "[Errno 2] No such file or directory"), ("auth: [jwt\n", "while parsing a flow")],
    ids=["missing", "not YAML"],
)
def test_data_file_that_cannot_be_read_is_a_one_line_error(
    tmp_path: Path, content: str | None, reason: str
) -> None:
    data_file = tmp_path / "answers.yml"
    if content is not None:
        data_file.write_text(content, encoding="utf-8")

    result = runner.invoke(
        app, ["new", str(tmp_path / "svc"), "--defaults", "--data-file", str(data_file)]
    )

    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert f"cannot read data file {data_file}: {reason}" in result.output
    assert not (tmp_path / "svc").exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "Invalid format: Input should be a valid dictionary"),
        ("defaults: [auth]\n", "Invalid format: defaults: Input should be a valid dictionary"),
        ("defaults: {auth: [\n", "Invalid YAML data"),
    ],
    ids=["empty", "defaults not a mapping", "not YAML"],
)
def test_a_broken_copier_settings_file_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, reason: str
) -> None:
    settings = tmp_path / "copier-settings.yml"
    settings.write_text(content, encoding="utf-8")
    monkeypatch.setenv("COPIER_SETTINGS_PATH", str(settings))

    result = runner.invoke(app, ["new", str(tmp_path / "svc"), "--defaults"])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert f"{settings} is not a valid Copier settings file: {reason}" in result.output
    assert not (tmp_path / "svc").exists()


def test_without_a_terminal_questions_need_defaults(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", str(tmp_path / "svc")])

    assert result.exit_code == 1
    assert "pass --defaults" in result.output
    assert not (tmp_path / "svc").exists()


def test_features_lists_every_question_with_help(template: Path) -> None:
    result = runner.invoke(app, ["features"], env={"COLUMNS": "300"})

    assert result.exit_code == 0
    for name in ["project_name", "auth", "database", "cors_origins", "static_dir"]:
        assert name in result.output
    assert "OAuth2 password flow" not in result.output  # choices are values, not labels
    assert "none / api_key / jwt" in result.output
    assert "How clients authenticate" in result.output


def test_same_tree_as_plain_copier_copy(template: Path, tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    assert runner.invoke(app, ["new", str(ours), "--defaults"]).exit_code == 0
    theirs = tmp_path / "theirs"

    subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--defaults", "--quiet", template, theirs],
        check=True,
    )

    assert snapshot(ours) == snapshot(theirs)

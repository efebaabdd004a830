"""``apiseed impact``: a template change between two revisions of a scratch template repository
is reported for exactly the variants it changes, file by file, under the feature owning each."""

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import edit
from test_check import MIDDLEWARE, REPO
from typer.testing import CliRunner

from apiseed.cli import app
from apiseed.matrix.impact import Impact, Revision, VariantChange
from apiseed.matrix.variants import Variant, by_ids, pairwise

TemplateFactory = Callable[[str], Path]
Commit = Callable[[Path], None]

INDEX = "template/{% if static_files %}{{ static_dir }}{% endif %}/index.html.jinja"
CORS_TEST = "template/tests/{% if cors_origins %}test_cors.py{% endif %}.jinja"
# Middleware, CORS and static files in every on/off pairing, and no database: cheap renders.
IDS = [
    "none-none-cors-mw-nobg-docs_default-nostatic",
    "none-none-nocors-nomw-bg-docs_off-static",
    "api_key-none-cors-nomw-nobg-docs_custom-static",
]


def impact(template: Path, *args: str) -> Any:
    result = CliRunner().invoke(
        app, ["impact", *args, "--json"], env={"APISEED_TEMPLATE": str(template)}
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def head(repo: Path, ref: str = "HEAD") -> str:
    return subprocess.run(
        ["git", "rev-parse", ref], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_static_files_change_changes_exactly_the_static_files_variants(
    make_template_repo: TemplateFactory, commit: Commit
) -> None:
    repo = make_template_repo("v1.0.0")
    edit(repo / INDEX, "  </body>", "    <p>Served from the static folder.</p>\n  </body>")
    commit(repo)

    found = impact(repo, "--from", "v1.0.0", "--to", "HEAD", "--tier", "pairwise")

    variants = pairwise(REPO)
    static = [variant.id for variant in variants if "static_files" in variant.features]
    assert 0 < len(static) < len(variants)
    assert [change["id"] for change in found["changes"]] == static
    assert (found["variants"], found["changed"]) == (len(variants), len(static))
    assert found["unchanged"] == len(variants) - len(static)
    assert found["exactly_the_variants_with"] == ["static_files"]
    assert found["from"] == {"ref": "v1.0.0", "commit": head(repo, "v1.0.0^{commit}")}
    assert found["to"] == {"ref": "HEAD", "commit": head(repo)}
    assert found["files"] == {
        "static/index.html": {
            "feature": "static_files",
            "added": 0,
            "removed": 0,
            "changed": len(static),
        }
    }
    for change in found["changes"]:
        assert change["status"] == "changed"
        assert (change["added"], change["removed"]) == ([], [])
        assert change["changed"] == ["static/index.html"]
        assert change["by_feature"] == {"static_files": {"changed": ["static/index.html"]}}
        assert change["failures"] == {"from": None, "to": None}


def test_the_working_tree_against_a_commit_file_by_file_and_feature_by_feature(
    make_template_repo: TemplateFactory,
) -> None:
    """Uncommitted: a middleware change, a feature's file removed, a new file for every
    variant and an executable bit."""
    repo = make_template_repo("v1.0.0")
    edit(
        repo / MIDDLEWARE,
        '"""',
        '"""Headers for every response.\n\n',
    )
    (repo / CORS_TEST).unlink()
    (repo / "template" / "NOTES.md").write_text("Notes\n", encoding="utf-8")
    (repo / "template" / "Dockerfile.jinja").chmod(0o755)

    found = impact(repo, "--from", "HEAD", "--ids", ",".join(IDS))

    assert found["to"] == {"ref": "working tree", "commit": None}
    changes = {change["id"]: change for change in found["changes"]}
    assert list(changes) == IDS  # every one gets NOTES.md and the executable Dockerfile
    assert found["exactly_the_variants_with"] == []
    for variant in by_ids(REPO, IDS):
        expected: dict[str, dict[str, list[str]]] = {
            "shared": {"added": ["NOTES.md"], "changed": ["Dockerfile"]}
        }
        if "middleware" in variant.features:
            expected["middleware"] = {"changed": ["src/my_service/middleware.py"]}
        if "cors" in variant.features:
            expected["cors"] = {"removed": ["tests/test_cors.py"]}
        assert changes[variant.id]["by_feature"] == expected, variant.id
    assert found["files"]["tests/test_cors.py"] == {
        "feature": "cors",
        "added": 0,
        "removed": 2,
        "changed": 0,
    }


def test_the_table_names_the_files_features_and_variants(
    make_template_repo: TemplateFactory,
) -> None:
    repo = make_template_repo("v1.0.0")
    edit(repo / MIDDLEWARE, '"""', '"""Headers for every response.\n\n')

    result = CliRunner().invoke(
        app,
        ["impact", "--from", "v1.0.0", "--ids", ",".join(IDS), "--jobs", "1"],
        env={"APISEED_TEMPLATE": str(repo), "COLUMNS": "200"},
    )

    assert result.exit_code == 0, result.output
    assert re.search(r"src/my_service/middleware.py\W+middleware\W+1 ", result.stdout)
    assert IDS[0] in result.stdout
    assert IDS[1] not in result.stdout
    last = result.stdout.splitlines()[-1]
    assert last.startswith("1 of 3 variant(s) change from v1.0.0 (")
    assert ") to the working tree: exactly the variants with middleware (" in last


def test_an_unchanged_template_changes_nothing(make_template_repo: TemplateFactory) -> None:
    repo = make_template_repo("v1.0.0")

    found = impact(repo, "--from", "v1.0.0", "--ids", IDS[2], "--jobs", "1")

    assert (found["changed"], found["changes"], found["files"]) == (0, [], {})


def test_an_unknown_revision_is_one_line(make_template_repo: TemplateFactory) -> None:
    repo = make_template_repo("v1.0.0")

    for args in (["--from", "v9.9.9"], ["--from", "v1.0.0", "--to", "--nope"]):
        result = CliRunner().invoke(
            app, ["impact", *args], env={"APISEED_TEMPLATE": str(repo)}, terminal_width=400
        )

        assert result.exit_code == 1
        name = args[-1]
        assert result.stderr == (
            f"error: unknown revision '{name}' in the template repository {repo}\n"
        )


def test_a_template_outside_git_is_one_line(template: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["impact", "--from", "HEAD"],
        env={"APISEED_TEMPLATE": str(template)},
        terminal_width=400,
    )

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: the template at {template} is not in a git repository: apiseed impact"
        " compares two of its revisions (set APISEED_TEMPLATE to the template's git repository)\n"
    )


def test_a_variant_that_no_longer_renders_is_a_change(
    make_template_repo: TemplateFactory,
) -> None:
    repo = make_template_repo("v1.0.0")
    with (repo / MIDDLEWARE).open("a", encoding="utf-8") as middleware:
        middleware.write("{% if %}\n")

    found = impact(repo, "--from", "v1.0.0", "--ids", ",".join(IDS[:2]), "--jobs", "1")

    (change,) = found["changes"]
    assert change["id"] == IDS[0]
    assert change["failures"]["from"] is None
    assert change["failures"]["to"].startswith("render: TemplateSyntaxError: ")
    assert change["removed"]  # nothing was rendered at "to"


def test_the_features_named_are_the_fewest_preferring_those_owning_the_files() -> None:
    """In a selection where static files and auth go together, a change to the static
    files is described by static files."""
    none = Variant("none", {}, frozenset())
    both = [Variant(f"v{n}", {}, frozenset({"auth", "static_files", f"f{n}"})) for n in range(3)]
    before = Revision("v1", "0" * 40)
    change = [
        VariantChange(
            v, "changed", {"static/index.html": "changed"}, {"static/index.html": "static_files"}
        )
        for v in both
    ]

    assert Impact(before, before, [none, *both], change, 1.0).exactly_with() == ["static_files"]
    assert Impact(before, before, [*both], change, 1.0).exactly_with() == []
    assert Impact(before, before, [none, *both], change[:1], 1.0).exactly_with() == ["f0"]
    assert Impact(before, before, [none, *both], [], 1.0).exactly_with() is None

"""The variant matrix: its size, its ids, the pairwise tier's coverage and the CLI's formats."""

import dataclasses
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from apiseed.cli import app
from apiseed.errors import UnknownVariantError
from apiseed.matrix.declaration import matrix
from apiseed.matrix.variants import (
    all_off,
    all_on,
    axes,
    by_ids,
    full,
    github_matrix,
    pairwise,
    parse_shard,
    python_axis,
    shard,
    smoke,
    variants,
)
from apiseed.matrix.variants import variant as make_variant

REPO = Path(__file__).resolve().parent.parent


def test_full_tier_is_every_combination_of_the_axes() -> None:
    matrix = axes(REPO)

    assert [axis.name for axis in matrix] == [
        "auth",
        "database",
        "cors",
        "middleware",
        "background_tasks",
        "docs",
        "static_files",
    ]
    assert [len(axis.choices) for axis in matrix] == [3, 3, 2, 2, 2, 3, 2]
    others = ["-py310", "-py312", "-py313"]  # all on at each Python version but the default
    assert len(full(REPO)) == 432 + len(others)
    assert [v.id for v in full(REPO)[432:]] == [all_on(REPO).id + suffix for suffix in others]
    assert [v.answers["python_version"] for v in full(REPO)[432:]] == ["3.10", "3.12", "3.13"]
    assert not any("python_version" in v.answers for v in full(REPO)[:432])


# Each tier's size and a digest of its variants (ids, answers, features, in order): the matrix
# the template declares gives exactly these.
PINNED = {
    "full": (435, "54b062306e82132eb26fd177ea879337c24474b5903f098954149bd618fb731b"),
    "pairwise": (15, "628efe889bfdcb0e26d15d2a4ef74b972b6235a9430e27a101c955d99c303f6c"),
    "smoke": (7, "b4a9271b178db58f52e3fe8179bcb3dabbdd6e5d3a2be7268e3c523267e509a9"),
}


@pytest.mark.parametrize("tier", sorted(PINNED))
def test_tiers_are_pinned(tier: str) -> None:
    listed = [variant.as_json() for variant in variants(REPO, tier)]
    digest = hashlib.sha256(json.dumps(listed, sort_keys=True).encode()).hexdigest()

    assert (len(listed), digest) == PINNED[tier]


def test_choice_axes_come_from_copier_yml(tmp_path: Path) -> None:
    config = yaml.safe_load((REPO / "copier.yml").read_text(encoding="utf-8"))
    config["auth"]["choices"]["Mutual TLS"] = "mtls"
    (tmp_path / "copier.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    shutil.copy(REPO / "matrix.yml", tmp_path)

    variants = full(tmp_path)

    assert len(variants) == 432 // 3 * 4 + 3
    assert "mtls-postgresql-cors-mw-bg-docs_custom-static" in {v.id for v in variants}


def test_ids_are_unique_readable_and_name_every_axis_value() -> None:
    variants = full(REPO)
    ids = [variant.id for variant in variants]

    assert len(set(ids)) == len(ids)
    assert ids[0] == "none-none-cors-mw-bg-docs_default-static"
    assert "jwt-postgresql-cors-mw-bg-docs_custom-static" in ids
    assert "api_key-sqlite-nocors-nomw-nobg-docs_off-nostatic" in ids
    for variant in variants:
        labels = variant.id.split("-")
        assert len(labels) == (8 if "python_version" in variant.answers else 7)
        assert variant.answers["auth"] == labels[0]
        assert variant.answers["database"] == labels[1]
        assert bool(variant.answers["cors_origins"]) == (labels[2] == "cors")
        assert variant.answers["middleware"] == (labels[3] == "mw")
        assert variant.answers["background_tasks"] == (labels[4] == "bg")
        assert variant.answers["static_files"] == (labels[6] == "static")


def test_docs_presets() -> None:
    (custom,) = by_ids(REPO, ["none-none-nocors-nomw-nobg-docs_custom-nostatic"])
    (off,) = by_ids(REPO, ["none-none-nocors-nomw-nobg-docs_off-nostatic"])
    (default,) = by_ids(REPO, ["none-none-nocors-nomw-nobg-docs_default-nostatic"])

    assert custom.answers["openapi_url"] == "/api/openapi.json"
    assert custom.answers["docs_url"] == "/api/docs"
    assert custom.answers["redoc_url"] == "/api/redoc"
    assert {off.answers[name] for name in ("openapi_url", "docs_url", "redoc_url")} == {""}
    assert not {"openapi_url", "docs_url", "redoc_url"} & set(default.answers)


def test_the_defaults_variant_is_the_templates_defaults(tmp_path: Path) -> None:
    config = yaml.safe_load((REPO / "copier.yml").read_text(encoding="utf-8"))
    config["auth"]["default"] = "api_key"
    config["cors_origins"]["default"] = []
    config["middleware"]["default"] = False
    (tmp_path / "copier.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    shutil.copy(REPO / "matrix.yml", tmp_path)

    # smoke: all on, all off, then the defaults.
    assert smoke(REPO)[2].id == "jwt-sqlite-cors-mw-bg-docs_default-static"
    assert smoke(tmp_path)[2].id == "api_key-sqlite-nocors-nomw-bg-docs_default-static"


def test_variants_are_values() -> None:
    axis = axes(REPO)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        axis.default = axis.on  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        axis.on.label = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        full(REPO)[0].id = "other"  # type: ignore[misc]


def test_ids_are_stable_across_processes() -> None:
    script = (
        "from pathlib import Path; from apiseed.matrix.variants import full, pairwise; "
        f"t = Path({str(REPO)!r}); "
        "print(','.join(v.id for v in full(t)), ','.join(v.id for v in pairwise(t)))"
    )

    def listed(seed: str) -> list[str]:
        return subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()

    expected = [",".join(v.id for v in full(REPO)), ",".join(v.id for v in pairwise(REPO))]
    assert listed("1") == listed("2") == expected


def test_pairwise_covers_every_pair_of_values() -> None:
    matrix = [*axes(REPO), python_axis(REPO)]
    chosen = [[*variant.id.split("-"), ""][:8] for variant in pairwise(REPO)]

    for (i, first), (j, second) in itertools.combinations(enumerate(matrix), 2):
        for a, b in itertools.product(first.choices, second.choices):
            assert any(row[i] == a.label and row[j] == b.label for row in chosen), (
                f"no pairwise variant has {first.name}={a.label} with {second.name}={b.label}"
            )
    assert len(chosen) < 20
    for variant in pairwise(REPO):  # the version in the id is the version answered
        label = "py" + variant.answers.get("python_version", "").replace(".", "")
        assert variant.id.endswith(f"-{label}") == ("python_version" in variant.answers)


def test_smoke_has_all_on_all_off_and_every_choice() -> None:
    ids = [variant.id for variant in smoke(REPO)]

    assert ids[:2] == [all_on(REPO).id, all_off(REPO).id]
    assert all_on(REPO).id == "jwt-postgresql-cors-mw-bg-docs_custom-static"
    assert all_off(REPO).id == "none-none-nocors-nomw-nobg-docs_off-nostatic"
    for index, axis in enumerate(axes(REPO)):
        assert {choice.label for choice in axis.choices} <= {i.split("-")[index] for i in ids}
    defaults = make_variant(axis.default for axis in axes(REPO)).id
    assert ids[-3:] == [f"{defaults}-py310", f"{defaults}-py312", f"{defaults}-py313"]


def test_any_combination_at_any_python_version_can_be_asked_for() -> None:
    (chosen,) = by_ids(REPO, ["none-none-nocors-nomw-nobg-docs_off-nostatic-py312"])

    assert chosen.answers["python_version"] == "3.12"
    assert chosen.answers["auth"] == "none"
    with pytest.raises(UnknownVariantError, match="py39"):
        by_ids(REPO, ["none-none-nocors-nomw-nobg-docs_off-nostatic-py39"])


def test_features_name_the_files_that_depend_on_them() -> None:
    features = set().union(*(variant.features for variant in full(REPO)))

    assert set(matrix(REPO).feature_files) <= features
    assert all_off(REPO).features == frozenset()


def test_shards_split_a_tier_into_disjoint_near_equal_parts() -> None:
    variants = full(REPO)
    parts = [shard(variants, index, 5) for index in range(1, 6)]

    assert [v for part in parts for v in part] == list(variants)
    assert {len(part) for part in parts} <= {86, 87}
    assert parse_shard("2/5") == (2, 5)
    for bad in ("0/4", "5/4", "2", "a/b"):
        with pytest.raises(UnknownVariantError, match="--shard"):
            parse_shard(bad)


def test_unknown_tier_and_id_are_one_line_errors() -> None:
    with pytest.raises(UnknownVariantError, match="unknown tier 'huge'"):
        variants(REPO, "huge")
    with pytest.raises(UnknownVariantError, match="unknown variant id 'jwt-nothing'"):
        by_ids(REPO, ["jwt-nothing", "none-nothing"])
    with pytest.raises(UnknownVariantError, match="--shards must be at least 1, got 0"):
        github_matrix(full(REPO), "full", 0)


def test_variants_json_format() -> None:
    result = CliRunner().invoke(app, ["variants", "--tier", "smoke", "--format", "json"])

    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [entry["id"] for entry in listed] == [v.id for v in smoke(REPO)]
    assert listed[0]["answers"]["database"] == "postgresql"


def test_variants_table_format() -> None:
    result = CliRunner().invoke(app, ["variants", "--tier", "pairwise"])

    assert result.exit_code == 0, result.output
    assert f"{len(pairwise(REPO))} variants (pairwise)" in result.stdout


@pytest.mark.parametrize("shards", [1, 3, 8])
def test_github_format_is_a_sharded_strategy_matrix(shards: int) -> None:
    result = CliRunner().invoke(app, ["variants", "--format", "github", "--shards", str(shards)])

    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1  # one line for $GITHUB_OUTPUT
    matrix = json.loads(result.stdout)
    assert yaml.safe_load(result.stdout) == matrix
    include = matrix["include"]
    assert [entry["shard"] for entry in include] == [f"{i}/{shards}" for i in range(1, shards + 1)]
    assert {entry["tier"] for entry in include} == {"full"}
    assert sum(entry["variants"] for entry in include) == 432 + 3
    ids: list[str] = []
    for entry in include:
        listed = CliRunner().invoke(
            app, ["variants", "--tier", entry["tier"], "--shard", entry["shard"], "-f", "json"]
        )
        ids += [variant["id"] for variant in json.loads(listed.stdout)]
    assert ids == [variant.id for variant in full(REPO)]


def test_bad_format_is_an_error() -> None:
    result = CliRunner().invoke(app, ["variants", "--format", "xml"])

    assert result.exit_code == 1
    assert "unknown --format 'xml'" in result.stderr

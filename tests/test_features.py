"""Each optional feature renders its files and mentions, and nothing of it when off."""

import re
from pathlib import Path
from typing import Any

import pytest
from helpers import render_variant

PKG = "src/my_service"
BASE = {"auth": "none", "database": "none"}

# What each on/off feature adds to the tree, and a word that appears nowhere without it.
FEATURES: dict[str, tuple[dict[str, Any], set[str], str]] = {
    "middleware": (
        {"middleware": False},
        {f"{PKG}/middleware.py", "tests/test_middleware.py"},
        "X-Process-Time",
    ),
    "background_tasks": (
        {"background_tasks": False},
        {
            f"{PKG}/notifications/__init__.py",
            f"{PKG}/notifications/router.py",
            f"{PKG}/notifications/schemas.py",
            f"{PKG}/notifications/service.py",
            f"{PKG}/config/notifications.py",
            "tests/fixtures/notifications.py",
            "tests/notifications/test_router.py",
        },
        "notification",
    ),
    "static_files": (
        {"static_files": False},
        {"static/index.html", f"{PKG}/config/static.py", "tests/test_static.py"},
        "static_dir",  # not StaticFiles: the docs pages' assets are served with it too
    ),
    "cors": ({"cors_origins": []}, {f"{PKG}/config/cors.py", "tests/test_cors.py"}, "cors"),
}


def files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def mentions(root: Path, word: str) -> list[str]:
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file()
        and path.name != ".copier-answers.yml"
        and word.lower() in path.read_text(encoding="utf-8").lower()
    )


def copy(tmp_path: Path, template: Path, **answers: Any) -> Path:
    """Render the template with ``answers`` into a new folder under ``tmp_path``."""
    project = tmp_path / f"project{len(list(tmp_path.glob('project*')))}"
    return render_variant(template, project, {**BASE, **answers})


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_feature_off_removes_exactly_its_files_and_mentions(
    tmp_path: Path, template: Path, feature: str
) -> None:
    off_answers, feature_files, word = FEATURES[feature]
    on = copy(tmp_path, template)
    off = copy(tmp_path, template, **off_answers)

    assert files(on) - files(off) == feature_files
    assert files(off) - files(on) == set()
    assert mentions(on, word)
    assert mentions(off, word) == []


def test_all_features_on_render_the_core_layout(tmp_path: Path, template: Path) -> None:
    tree = files(copy(tmp_path, template))

    assert {
        ".copier-answers.yml",
        ".env.example",
        ".gitignore",
        "Dockerfile",
        "README.md",
        "pyproject.toml",
        f"{PKG}/__main__.py",
        f"{PKG}/config/__init__.py",
        f"{PKG}/config/core.py",
        f"{PKG}/dependencies.py",
        f"{PKG}/health/router.py",
        f"{PKG}/items/router.py",
        f"{PKG}/items/schemas.py",
        f"{PKG}/items/service.py",
        f"{PKG}/items/dependencies.py",
        f"{PKG}/main.py",
        "tests/conftest.py",
        "tests/fixtures/item_store.py",
        "tests/items/test_router.py",
    } <= tree


def test_static_files_follow_their_answers(tmp_path: Path, template: Path) -> None:
    project = copy(tmp_path, template, static_path="/assets", static_dir="public")

    assert (project / "public/index.html").is_file()
    assert not (project / "static").exists()
    assert 'app.mount(\n            "/assets",' in (project / PKG / "main.py").read_text()


@pytest.mark.parametrize(
    ("docs", "present", "absent"),
    [
        ({}, ['"/openapi.json"', '"/docs"', '"/redoc"'], []),
        (
            {"openapi_url": "/api/schema.json", "docs_url": "/api/docs", "redoc_url": ""},
            ['"/api/schema.json"', '"/api/docs"', "redoc_url: str | None = None"],
            ['"/redoc"'],
        ),
        ({"openapi_url": ""}, ["openapi_url: str | None = None"], ['"/docs"', '"/openapi.json"']),
    ],
)
def test_docs_urls_become_setting_defaults(
    tmp_path: Path, template: Path, docs: dict[str, str], present: list[str], absent: list[str]
) -> None:
    config = (copy(tmp_path, template, **docs) / PKG / "config/core.py").read_text()

    for text in present:
        assert text in config
    for text in absent:
        assert text not in config


def test_python_version_drives_tooling(tmp_path: Path, template: Path) -> None:
    project = copy(tmp_path, template, python_version="3.12")
    pyproject = (project / "pyproject.toml").read_text()

    assert 'requires-python = ">=3.12"' in pyproject
    assert 'target-version = "py312"' in pyproject
    assert 'python_version = "3.12"' in pyproject
    assert "FROM python:3.12-slim" in (project / "Dockerfile").read_text()
    # CI tests every version the project supports, from its lowest.
    workflow = (project / ".github/workflows/ci.yml").read_text()
    assert 'python-version: ["3.12", "3.13"]' in workflow


def test_no_template_residue(tmp_path: Path, template: Path) -> None:
    project = copy(tmp_path, template)
    expressions = re.compile(r"\$\{\{.*?\}\}")  # GitHub's own ${{ ... }} syntax
    for workflow in (project / ".github/workflows").glob("*.yml"):
        text = workflow.read_text(encoding="utf-8")
        workflow.write_text(expressions.sub("", text), encoding="utf-8")

    assert mentions(project, "{{") == []
    assert mentions(project, "{%") == []
    assert mentions(project, "{#") == []

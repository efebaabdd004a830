"""Every question's rule, with good and bad values, through real Copier rendering."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from apiseed import InvalidAnswerError, render

GOOD: list[tuple[str, Any]] = [
    ("project_name", "Billing API"),
    ("project_name", "x" * 80),
    ("project_slug", "billing"),
    ("project_slug", "billing-api-2"),
    ("package_name", "billing_api"),
    ("package_name", "_private"),
    ("description", "Bills customers; renders <b>safely</b> & well."),
    ("author_name", "Ada Lovelace"),
    ("author_email", "ada@example.co.uk"),
    ("python_version", "3.10"),
    ("python_version", "3.13"),
    ("auth", "api_key"),
    ("database", "postgresql"),
    ("cors_origins", []),
    ("cors_origins", ["https://app.example.com", "http://localhost:8080", "http://[::1]:3000"]),
    ("openapi_url", "/api/v1/openapi.json"),
    ("docs_url", "/api/docs"),
    ("redoc_url", ""),
    ("static_path", "/assets/public"),
    ("static_dir", "public-files"),
]

BAD: list[tuple[str, Any, str]] = [
    ("project_name", "", "must not be empty"),
    ("project_name", "x" * 81, "at most 80"),
    ("project_name", 'Say "hi"', "without quotes"),
    ("project_slug", "Billing", "must match"),
    ("project_slug", "billing--api", "must match"),
    ("project_slug", "2fast", "must match"),
    ("package_name", "billing-api", "Python identifier"),
    ("package_name", "class", "keyword"),
    ("package_name", "fastapi", "shadow the module 'fastapi'"),
    ("package_name", "tests", "shadow the module 'tests'"),
    ("description", "x" * 201, "at most 200"),
    ("author_name", "", "must not be empty"),
    ("author_email", "not-an-email", "e-mail address"),
    ("author_email", "a@b", "e-mail address"),
    ("python_version", "3.9", "is not in"),
    ("auth", "oauth", "is not in"),
    ("database", "mysql", "is not in"),
    ("cors_origins", "https://app.example.com", "must be a list"),
    ("cors_origins", ["*"], "'*' is not an origin"),
    ("cors_origins", ["https://app.example.com/path"], "no path"),
    ("cors_origins", ["ftp://files.example.com"], "is not an origin"),
    ("cors_origins", ["http://a.example.com", "http://a.example.com"], "must not repeat"),
    ("openapi_url", "openapi.json", "must be a URL path"),
    ("openapi_url", "/open api.json", "must be a URL path"),
    ("openapi_url", "/health", "collides with the API's route /health"),
    ("docs_url", "docs", "must be a URL path"),
    ("docs_url", "/items/docs", "collides with the API's route /items"),
    ("redoc_url", "/token", "collides with the API's route /token"),
    ("docs_url", "/openapi.json", "must differ from openapi_url"),
    ("redoc_url", "/docs", "must differ"),
    ("static_path", "static", "must be a URL path"),
    ("static_path", "/items", "collides with the API's route /items"),
    ("static_path", "/docs", "must differ from the docs URLs"),
    ("static_path", "/static/../x", "must not have '.' or '..' segments"),
    ("static_dir", "../outside", "single directory name"),
    ("static_dir", "src", "must not be a directory the project already uses"),
]


def render_with(template: Path, dest: Path, **data: Any) -> dict[str, Any]:
    render(template, dest, {"database": "none", **data}, defaults=True)
    answers: dict[str, Any] = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    return answers


@pytest.mark.parametrize(("question", "value"), GOOD)
def test_good_value_is_accepted_and_recorded(
    template: Path, tmp_path: Path, question: str, value: Any
) -> None:
    # A short slug keeps the derived package name within its limit whatever the name.
    data = {"project_slug": "svc", question: value}
    answers = render_with(template, tmp_path / "project", **data)

    assert answers[question] == value


@pytest.mark.parametrize(("question", "value", "rule"), BAD)
def test_bad_value_is_refused_naming_question_and_rule(
    template: Path, tmp_path: Path, question: str, value: Any, rule: str
) -> None:
    with pytest.raises(InvalidAnswerError) as caught:
        render_with(template, tmp_path / "project", **{question: value})

    assert caught.value.question == question
    assert rule in caught.value.rule
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "project").exists()


def test_docs_pages_need_the_schema(template: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidAnswerError, match=r"docs_url.*needs openapi_url"):
        render_with(template, tmp_path / "project", openapi_url="", docs_url="/docs")


def test_slug_and_package_default_from_the_name(template: Path, tmp_path: Path) -> None:
    answers = render_with(template, tmp_path / "project", project_name="Billing API (EU) v2")

    assert answers["project_slug"] == "billing-api-eu-v2"
    assert answers["package_name"] == "billing_api_eu_v2"


def test_static_questions_are_not_asked_without_static_files(
    template: Path, tmp_path: Path
) -> None:
    answers = render_with(template, tmp_path / "project", static_files=False)

    assert "static_path" not in answers
    assert "static_dir" not in answers


def api_paths(template: Path) -> list[str]:
    """The reserved paths copier.yml's validators read (questions.jinja), read as Copier does."""
    from jinja2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(template))
    listing = env.from_string(
        "{% from 'questions.jinja' import api_paths %}{{ api_paths|join(' ') }}"
    )
    return listing.render().split()


def test_every_route_of_the_app_is_reserved(template: Path, tmp_path: Path) -> None:
    """A new route must join the reserved list, or docs URLs could be put on top of it."""
    project = tmp_path / "project"
    render(template, project, {"auth": "jwt", "background_tasks": True}, defaults=True)
    listing = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, 'src'); from my_service.main import create_app; "
            "print('\\n'.join(create_app().openapi()['paths']))",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    reserved = api_paths(template)
    routes = [path for path in listing if path.startswith("/")]
    assert routes
    for path in routes:
        assert any(path == r or path.startswith(r + "/") for r in reserved), path

"""Locating the template and reading its questions."""

import json
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from apiseed.errors import TemplateNotFoundError

_PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE_FILES = ("copier.yml", "questions.jinja", "matrix.yml")
"""The template's own files beside its ``template/`` folder (see hatch_build.py too); only
``copier.yml`` is required."""


def bundled_template() -> Path:
    """The template shipped in the wheel, or the checkout's own when running from source."""
    for candidate in (_PACKAGE_DIR / "_template", _PACKAGE_DIR.parents[1]):
        if (candidate / "copier.yml").is_file():
            return candidate
    raise TemplateNotFoundError(f"no copier.yml in {_PACKAGE_DIR / '_template'} or the checkout")


def working_copy(source: Path, into: Path) -> Path:
    """Copy a template's files (working tree, uncommitted changes included) to a plain folder.

    Copier reads a git repository at a commit; a plain folder is read as it is, and faster.
    """
    into.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_FILES:
        if name == "copier.yml" or (source / name).exists():
            shutil.copy2(source / name, into / name)
    shutil.copytree(
        source / "template",
        into / "template",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    return into


@dataclass(frozen=True)
class Question:
    name: str
    type: str
    help: str
    default: Any
    choices: tuple[str, ...]


@cache
def questions(template: Path) -> tuple[Question, ...]:
    """The questions of a template folder, in the order Copier asks them."""
    config_file = template / "copier.yml"
    if not config_file.is_file():
        raise TemplateNotFoundError(f"no copier.yml in {template}")
    return parse_questions(yaml.safe_load(config_file.read_text(encoding="utf-8")))


def parse_questions(config: dict[str, Any]) -> tuple[Question, ...]:
    """The questions of a parsed copier.yml, in the order Copier asks them."""
    found = []
    for name, spec in config.items():
        if name.startswith("_") or not isinstance(spec, dict):
            continue
        choices = spec.get("choices", ())
        values = choices.values() if isinstance(choices, dict) else choices
        found.append(
            Question(
                name=name,
                type=str(spec.get("type", "str")),
                help=str(spec.get("help", "")),
                default=spec.get("default"),
                choices=tuple(str(value) for value in values),
            )
        )
    return tuple(found)


def shown_defaults(asked: tuple[Question, ...]) -> list[str]:
    """Each question's default as a user would get it: a computed default (Jinja, e.g. the slug
    made from the name) worked out from the defaults before it, as Copier does; others as JSON
    (which YAML reads too)."""
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"])
    context: dict[str, Any] = {}
    shown = []
    for question in asked:
        value = question.default
        if isinstance(value, str) and "{" in value:
            try:
                value = env.from_string(value).render(context)
            except Exception:
                value = question.default
        context[question.name] = value
        shown.append(value if isinstance(value, str) else json.dumps(value))
    return shown

"""The matrix a template declares in ``matrix.yml`` beside its ``copier.yml``, read and checked.

The declaration names the axes (questions with choices, yes/no questions, named presets of
answers), the Python version question, the questions held at their defaults, the files each
feature owns, the dependencies used without an import, and the environment of the variants'
test runs. The choices and defaults themselves are read from ``copier.yml``, so a new choice
joins the matrix by itself. A mistake in the file is a one-line ``ApiseedError``.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from apiseed.errors import ApiseedError
from apiseed.template import Question, questions

MATRIX_FILE = "matrix.yml"


@dataclass(frozen=True)
class Choice:
    """One value of one axis: its label in variant ids, its answers and the features it turns on."""

    label: str
    answers: Mapping[str, Any]
    features: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Axis:
    name: str
    choices: tuple[Choice, ...]
    default: Choice  # what the template's own defaults give
    on: Choice  # the value of the "everything on" variant
    off: Choice  # the value of the "everything off" variant


@dataclass(frozen=True)
class Usage:
    """What shows that a distribution is used without being imported."""

    code: tuple[str, ...] = ()  # modules (or names in them) the code outside tests/ imports
    tests: tuple[str, ...] = ()  # ... that the tests import
    text: tuple[str, ...] = ()  # text in the code outside tests/


@dataclass(frozen=True)
class Environment:
    """Variables for the test runs of the variants with ``feature``."""

    variables: Mapping[str, str]
    feature: str
    postgres: bool  # needs the PostgreSQL server of APISEED_POSTGRES_URL


@dataclass(frozen=True)
class Matrix:
    axes: tuple[Axis, ...]
    python: Axis | None  # the Python versions, outside the product; None: not an axis
    python_question: str | None
    package: str  # the question naming the import package
    feature_files: Mapping[str, tuple[str, ...]]
    defaults: Mapping[str, Any]  # copier.yml's defaults, as written (may be Jinja)
    tools: frozenset[str] = frozenset()
    used_without_import: Mapping[str, Usage] = field(default_factory=dict)
    test_ignore: tuple[str, ...] = ()
    test_environments: tuple[Environment, ...] = ()
    fuzz_test: str | None = None
    fuzz_environment: Mapping[str, str] = field(default_factory=dict)
    client_test: str | None = None  # relative to the template's root
    client_into: str = "tests"  # the folder of each variant it is copied into


@cache
def matrix(template: Path) -> Matrix:
    """The matrix declared by the template at ``template``."""
    path = template / MATRIX_FILE
    if not path.is_file():
        raise ApiseedError(f"no {MATRIX_FILE} in {template}: the template declares no matrix")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        return _parse(spec, questions(template))
    except ApiseedError as error:
        raise ApiseedError(f"{path}: {error}") from None
    except KeyError as error:
        raise ApiseedError(f"{path} is not a valid matrix declaration: no {error}") from None
    except (yaml.YAMLError, TypeError, AttributeError, ValueError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ApiseedError(f"{path} is not a valid matrix declaration: {reason}") from None


def client_test(template: Path) -> Path:
    """The client check's test file (``client: test:`` in matrix.yml) of ``template``."""
    declared = matrix(template).client_test
    if declared is None:
        raise ApiseedError(f"--client: the matrix of {template} declares no client test")
    path = template / declared
    if not path.is_file():
        raise ApiseedError(
            f"--client: {template / MATRIX_FILE} names {declared}, which is not a file"
        )
    return path


def _parse(spec: dict[str, Any], asked: tuple[Question, ...]) -> Matrix:
    found = {question.name: question for question in asked}

    def question(name: str) -> Question:
        if name not in found:
            raise ApiseedError(f"copier.yml has no question {name!r}")
        return found[name]

    axes = tuple(_axis(entry, question) for entry in spec["axes"])
    python_name = spec.get("python")
    python = _python_axis(question(python_name)) if python_name else None
    covered = {name for axis in axes for choice in axis.choices for name in choice.answers}
    covered |= {axis.name for axis in axes}
    held = set(spec.get("held", ()))
    for name in held:
        question(name)
    loose = [name for name in found if name not in covered | held | {python_name}]
    if loose:
        raise ApiseedError(f"question {loose[0]!r} is neither an axis nor held")
    dependencies = spec.get("dependencies") or {}
    usages = {
        str(name): Usage(
            code=tuple(shown.get("code", ())),
            tests=tuple(shown.get("tests", ())),
            text=tuple(shown.get("text", ())),
        )
        for name, shown in (dependencies.get("used_without_import") or {}).items()
    }
    tests = spec.get("tests") or {}
    environments = []
    if "postgres" in tests:
        postgres = tests["postgres"]
        environments.append(Environment(dict(postgres["environment"]), postgres["feature"], True))
    fuzz = spec.get("fuzz") or {}
    client = spec.get("client") or {}
    return Matrix(
        axes=axes,
        python=python,
        python_question=python_name,
        package=question(spec["package"]).name,
        feature_files={
            str(feature): tuple(paths) for feature, paths in spec.get("feature_files", {}).items()
        },
        defaults={name: q.default for name, q in found.items()},
        tools=frozenset(dependencies.get("tools", ())),
        used_without_import=usages,
        test_ignore=tuple(tests.get("ignore", ())),
        test_environments=tuple(environments),
        fuzz_test=fuzz.get("test"),
        fuzz_environment=dict(fuzz.get("environment", {})),
        client_test=client.get("test"),
        client_into=client.get("into", "tests"),
    )


def _axis(entry: dict[str, Any], question: Callable[[str], Question]) -> Axis:
    if "presets" in entry:
        return _preset_axis(entry, question)
    asked = question(entry["question"])
    if "label" in entry:
        return _toggle_axis(asked, str(entry["label"]))
    if not asked.choices:
        raise ApiseedError(f"axis {asked.name!r}: the question has no choices and no label")
    on = str(entry.get("all_on", asked.choices[-1]))
    return _choice_axis(asked, on, str(entry.get("all_off", asked.choices[0])))


def _pick(choices: tuple[Choice, ...], label: str, axis: str) -> Choice:
    for choice in choices:
        if choice.label == label:
            return choice
    raise ApiseedError(f"axis {axis!r} has no value {label!r}")


def _choice_axis(question: Question, on: str, off: str) -> Axis:
    """Each choice labelled by its value, with ``_`` for ``-`` (which joins the labels of ids)."""
    choices = tuple(
        Choice(
            value.replace("-", "_"),
            {question.name: value},
            frozenset() if value == off else frozenset({question.name, f"{question.name}:{value}"}),
        )
        for value in question.choices
    )
    by_value = dict(zip(question.choices, choices, strict=True))
    for value in (str(question.default), on, off):
        if value not in by_value:
            raise ApiseedError(f"axis {question.name!r} has no choice {value!r}")
    return Axis(
        question.name, choices, by_value[str(question.default)], by_value[on], by_value[off]
    )


def _toggle_axis(question: Question, label: str) -> Axis:
    if "-" in label:
        raise ApiseedError(f"axis {question.name!r}: label {label!r} has a '-'")
    on = Choice(label, {question.name: True}, frozenset({question.name}))
    off = Choice(f"no{label}", {question.name: False})
    return Axis(question.name, (on, off), on if question.default else off, on, off)


def _preset_axis(entry: dict[str, Any], question: Callable[[str], Question]) -> Axis:
    name = str(entry["name"])
    choices = tuple(
        Choice(
            str(label),
            dict((preset or {}).get("answers") or {}),
            frozenset((preset or {}).get("features") or ()),
        )
        for label, preset in entry["presets"].items()
    )
    for choice in choices:
        if "-" in choice.label:
            raise ApiseedError(f"axis {name!r}: preset {choice.label!r} has a '-'")
        for asked in choice.answers:
            question(asked)
    default = next(
        (
            choice
            for choice in choices
            if all(question(q).default == value for q, value in choice.answers.items())
        ),
        None,
    )
    if default is None:
        raise ApiseedError(f"axis {name!r}: no preset answers as copier.yml's defaults")
    return Axis(
        name,
        choices,
        default,
        _pick(choices, entry["all_on"], name),
        _pick(choices, entry["all_off"], name),
    )


def _python_axis(question: Question) -> Axis:
    """The versions copier.yml offers; the default's label is empty (not in ids)."""
    choices = tuple(
        Choice(
            "" if version == question.default else "py" + version.replace(".", ""),
            {} if version == question.default else {question.name: version},
        )
        for version in question.choices
    )
    default = _pick(choices, "", question.name)
    return Axis(question.name, choices, default, default, default)

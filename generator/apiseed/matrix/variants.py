"""The variant matrix: every combination of the template's feature answers, derived from copier.yml.

Choice questions (``auth``, ``database``) contribute every choice copier.yml lists, so a new
choice joins the matrix by itself; yes/no questions contribute on and off; ``cors_origins`` is
on (its default origins) or off (no origins); the three docs URLs together are an axis of
three presets. Every other question keeps its default.

``python_version`` is an axis of its own, outside the product: the full tier checks every
combination at the default version and the all-on variant at each other version; the pairwise
tier covers it like any axis; the smoke tier adds the defaults at each other version. A
variant at another version has the version in its id (``...-static-py313``), and its tests
run under that interpreter.
"""

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiseed.errors import ApiseedError, UnknownVariantError
from apiseed.template import Question, questions

TIERS = ("full", "pairwise", "smoke")

# Files that exist exactly when a feature is on ({package} is the package name, {static_dir}
# the static files' folder). A variant's
# features are the names of its yes/no and list axes that are on, plus ``<question>`` and
# ``<question>:<choice>`` for every choice question answered with something other than "none".
FEATURE_FILES: Mapping[str, tuple[str, ...]] = {
    "cors": ("tests/test_cors.py",),
    "middleware": ("src/{package}/middleware.py", "tests/test_middleware.py"),
    "background_tasks": ("src/{package}/notifications", "tests/notifications"),
    "static_files": ("{static_dir}/index.html", "tests/test_static.py"),
    "auth": (
        "src/{package}/auth/__init__.py",
        "src/{package}/auth/throttle.py",
        "tests/auth/test_settings.py",
        "tests/auth/test_throttle.py",
        ".env",
    ),
    "auth:api_key": ("src/{package}/auth/api_key.py", "tests/auth/test_api_key.py"),
    "auth:jwt": (
        "src/{package}/auth/passwords.py",
        "src/{package}/auth/tokens.py",
        "src/{package}/users/router.py",
        "tests/auth/test_passwords.py",
        "tests/auth/test_tokens.py",
        "tests/items/test_ownership.py",
    ),
    "database:postgresql": ("compose.yaml",),
    "database": (
        "src/{package}/database.py",
        "src/{package}/deadline.py",
        "src/{package}/models.py",
        "src/{package}/items/models.py",
        "alembic.ini",
        "migrations/env.py",
        "migrations/versions",
        "tests/test_database.py",
        "tests/test_migrations.py",
    ),
}

_DOCS_PRESETS: Mapping[str, Mapping[str, str]] = {
    "docs_default": {},
    "docs_custom": {
        "openapi_url": "/api/openapi.json",
        "docs_url": "/api/docs",
        "redoc_url": "/api/redoc",
    },
    "docs_off": {"openapi_url": "", "docs_url": "", "redoc_url": ""},
}
_CHOICE_AXES = ("auth", "database")
_CORS = "cors_origins"
_TOGGLES = {"middleware": "mw", "background_tasks": "bg", "static_files": "static"}
_PYTHON = "python_version"


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
    on: Choice  # the "everything on" value (last choice, feature on, custom docs)
    off: Choice  # the "everything off" value (first choice, feature off, docs disabled)


@dataclass(frozen=True)
class Variant:
    id: str
    answers: Mapping[str, Any]
    features: frozenset[str]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "answers": dict(self.answers), "features": sorted(self.features)}


def axes(template: Path) -> tuple[Axis, ...]:
    """The matrix's axes, in id order, read from the template's questions."""
    found = {question.name: question for question in questions(template)}
    needed = [*_CHOICE_AXES, _CORS, *_TOGGLES, "openapi_url", "docs_url", "redoc_url"]
    missing = [name for name in needed if name not in found]
    if missing:
        raise ApiseedError(f"copier.yml in {template} lacks the question(s) {', '.join(missing)}")
    cors = Choice("cors", {_CORS: found[_CORS].default}, frozenset({"cors"}))
    nocors = Choice("nocors", {_CORS: []})
    docs = tuple(
        Choice(label, preset, frozenset() if label == "docs_off" else frozenset({"docs"}))
        for label, preset in _DOCS_PRESETS.items()
    )
    middleware, background_tasks, static_files = (
        _toggle_axis(found[name], label) for name, label in _TOGGLES.items()
    )
    return (
        *(_choice_axis(found[name]) for name in _CHOICE_AXES),
        Axis("cors", (cors, nocors), cors if found[_CORS].default else nocors, cors, nocors),
        middleware,
        background_tasks,
        Axis("docs", docs, docs[0], docs[1], docs[2]),
        static_files,
    )


def python_axis(template: Path) -> Axis:
    """The Python versions copier.yml offers; the default's label is empty (not in ids)."""
    question = next((q for q in questions(template) if q.name == _PYTHON), None)
    if question is None:
        raise ApiseedError(f"copier.yml in {template} lacks the question {_PYTHON}")
    choices = tuple(
        Choice(
            "" if version == question.default else "py" + version.replace(".", ""),
            {} if version == question.default else {_PYTHON: version},
        )
        for version in question.choices
    )
    default = choices[question.choices.index(question.default)]
    return Axis(_PYTHON, choices, default, default, default)


def _choice_axis(question: Question) -> Axis:
    choices = tuple(
        Choice(
            value,
            {question.name: value},
            frozenset()
            if value == "none"
            else frozenset({question.name, f"{question.name}:{value}"}),
        )
        for value in question.choices
    )
    default = next(choice for choice in choices if choice.label == question.default)
    return Axis(question.name, choices, default, choices[-1], choices[0])


def _toggle_axis(question: Question, label: str) -> Axis:
    on = Choice(label, {question.name: True}, frozenset({question.name}))
    off = Choice(f"no{label}", {question.name: False})
    return Axis(question.name, (on, off), on if question.default else off, on, off)


def variant(picks: Iterable[Choice]) -> Variant:
    picked = list(picks)
    answers: dict[str, Any] = {}
    for choice in picked:
        answers.update(choice.answers)
    features = frozenset().union(*(choice.features for choice in picked))
    return Variant("-".join(c.label for c in picked if c.label), answers, features)


def _at_other_pythons(template: Path, base: Sequence[Choice]) -> tuple[Variant, ...]:
    """The variant of ``base``'s choices at each Python version but the default."""
    python = python_axis(template)
    others = [choice for choice in python.choices if choice != python.default]
    return tuple(variant([*base, choice]) for choice in others)


def _product(template: Path) -> tuple[Variant, ...]:
    """Every combination of the feature axes, in product order (neighbours differ in few
    files), at the default Python version."""
    return tuple(
        variant(picks) for picks in itertools.product(*(a.choices for a in axes(template)))
    )


def full(template: Path) -> tuple[Variant, ...]:
    """Every combination, then all on at each other Python version."""
    on = [axis.on for axis in axes(template)]
    return _product(template) + _at_other_pythons(template, on)


def pairwise(template: Path) -> tuple[Variant, ...]:
    """A covering array: every pair of values of any two axes, Python's included, appears in
    some variant."""
    import covertable

    matrix = (*axes(template), python_axis(template))
    labels = {axis.name: {choice.label: choice for choice in axis.choices} for axis in matrix}
    rows = covertable.make({name: list(choices) for name, choices in labels.items()})
    picked = [variant(labels[axis.name][row[axis.name]] for axis in matrix) for row in rows]
    order = {v.id: index for index, v in enumerate(_product(template))}
    unique = {v.id: v for v in picked}.values()
    return tuple(sorted(unique, key=lambda v: (order[_without_python(template, v.id)], v.id)))


def smoke(template: Path) -> tuple[Variant, ...]:
    """All on, all off, the template's defaults, and the defaults with each remaining choice,
    Python versions included."""
    matrix = axes(template)
    picked = [
        variant(axis.on for axis in matrix),
        variant(axis.off for axis in matrix),
        variant(axis.default for axis in matrix),
    ]
    for index, axis in enumerate(matrix):
        for choice in axis.choices:
            if not any(choice.label == v.id.split("-")[index] for v in picked):
                picks = [a.default for a in matrix]
                picks[index] = choice
                picked.append(variant(picks))
    return (*picked, *_at_other_pythons(template, [axis.default for axis in matrix]))


def _without_python(template: Path, variant_id: str) -> str:
    """The id of the same features at the default Python version."""
    base, _, label = variant_id.rpartition("-")
    other = {choice.label for choice in python_axis(template).choices if choice.label}
    return base if label in other else variant_id


def all_on(template: Path) -> Variant:
    return variant(axis.on for axis in axes(template))


def all_off(template: Path) -> Variant:
    return variant(axis.off for axis in axes(template))


def variants(template: Path, tier: str = "full") -> tuple[Variant, ...]:
    """The variants of a tier: ``full`` (all), ``pairwise`` or ``smoke``."""
    builders = {"full": full, "pairwise": pairwise, "smoke": smoke}
    if tier not in builders:
        raise UnknownVariantError(f"unknown tier {tier!r}; the tiers are {', '.join(TIERS)}")
    return builders[tier](template)


def by_ids(template: Path, ids: Iterable[str]) -> tuple[Variant, ...]:
    """The variants of these ids: any combination of features, at any Python version."""
    known = {v.id: v for v in _product(template)}
    pythons = {choice.label: choice for choice in python_axis(template).choices if choice.label}
    wanted = [name.strip() for name in ids if name.strip()]
    found = []
    for name in dict.fromkeys(wanted):
        base = known.get(_without_python(template, name))
        if base is None:
            raise UnknownVariantError(
                f"unknown variant id {name!r}; ids look like {next(iter(known))!r}"
                f" (at another Python version: {next(iter(known))}-{next(iter(pythons))})"
            )
        python = pythons.get(name.rpartition("-")[2]) if name != base.id else None
        answers = {**base.answers, **(python.answers if python else {})}
        found.append(Variant(name, answers, base.features))
    return tuple(found)


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``: the second of four shards."""
    index, sep, count = text.partition("/")
    if not (sep and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise UnknownVariantError(f"--shard expects I/N with 1 <= I <= N, got {text!r}")
    return int(index), int(count)


def shard(variants: Sequence[Variant], index: int, count: int) -> tuple[Variant, ...]:
    """The ``index``-th (1-based) of ``count`` contiguous, near-equal slices."""
    size = len(variants)
    return tuple(variants[(index - 1) * size // count : index * size // count])


def github_matrix(variants: Sequence[Variant], tier_name: str, count: int) -> str:
    """A GitHub Actions ``strategy.matrix`` (one line of JSON) running a tier in shards."""
    if count < 1:
        raise UnknownVariantError(f"--shards must be at least 1, got {count}")
    include = [
        {
            "tier": tier_name,
            "shard": f"{index}/{count}",
            "variants": len(shard(variants, index, count)),
        }
        for index in range(1, count + 1)
    ]
    return json.dumps({"include": include}, separators=(",", ":"))

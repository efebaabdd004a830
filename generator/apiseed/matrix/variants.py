"""The variant matrix: every combination of the values of the axes a template declares.

The axes come from the template's ``matrix.yml`` (``apiseed.matrix.declaration``), their choices
and defaults from its ``copier.yml``. When the template declares a Python version question,
the version is an axis of its own, outside the product: the full tier checks every combination
at the default version and the all-on variant at each other version; the pairwise tier covers
it like any axis; the smoke tier adds the defaults at each other version. A variant at another
version has the version in its id (``...-static-py313``), and its tests run under that
interpreter.
"""

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiseed.errors import UnknownVariantError
from apiseed.matrix.declaration import Axis, Choice, matrix

TIERS = ("full", "pairwise", "smoke")


@dataclass(frozen=True)
class Variant:
    id: str
    answers: Mapping[str, Any]
    features: frozenset[str]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "answers": dict(self.answers), "features": sorted(self.features)}


def axes(template: Path) -> tuple[Axis, ...]:
    """The matrix's axes, in id order."""
    return matrix(template).axes


def python_axis(template: Path) -> Axis:
    """The Python versions the template offers (only the default when it asks for none)."""
    declared = matrix(template).python
    if declared is not None:
        return declared
    default = Choice("", {})
    return Axis("python", (default,), default, default, default)


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
            example = next(iter(known))
            other = f" (at another Python version: {example}-{next(iter(pythons))})"
            raise UnknownVariantError(
                f"unknown variant id {name!r}; ids look like {example!r}"
                + (other if pythons else "")
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

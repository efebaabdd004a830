"""What ``apiseed check`` needs beyond ``apiseed`` itself: the ``check`` extra (the linters, mypy,
hatchling, and every package a generated project depends on, since the variants' tests run in
apiseed's own environment). Plain ``pip install apiseed`` generates and updates without it."""

from functools import cache
from importlib import metadata

from packaging.requirements import Requirement

from apiseed.errors import ApiseedError

INSTALL = 'pip install "apiseed[check]"'


@cache
def missing() -> tuple[str, ...]:
    """The distributions of the ``check`` extra that are not installed."""
    try:
        declared = metadata.requires("apiseed") or []
    except metadata.PackageNotFoundError:  # run from a source tree: nothing to compare with
        return ()
    wanted = [Requirement(entry) for entry in declared]
    needed = [
        r.name for r in wanted if r.marker is not None and r.marker.evaluate({"extra": "check"})
    ]
    absent = []
    for name in needed:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            absent.append(name)
    return tuple(absent)


def require() -> None:
    """Raise a one-line error naming the install command when the ``check`` extra is missing."""
    absent = missing()
    if absent:
        named = ", ".join(absent[:3]) + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
        raise ApiseedError(f"apiseed check needs the check extra ({named} missing): {INSTALL}")

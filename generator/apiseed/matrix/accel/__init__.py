"""Accelerators: ``apiseed check``'s patches of other projects' internals, one module per project.

Each module names the versions it was tested with (``TESTED``: distribution → version range),
lists the objects it replaces that are missing (``missing()``) and patches them (``apply``). One
is on only when every tested distribution is installed at a tested version and every object it
replaces is there: all of it or none of it. The parent decides (``plan``), every worker applies
what is on (``activate``), and what is off says why: a warning printed by ``apiseed check`` and
the ``accelerators`` field of its JSON report. On or off, the verdicts are the same; off is
slower.
"""

import importlib
from collections.abc import Iterable
from importlib import metadata
from types import ModuleType

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

NAMES = ("jinja", "copier")
ON = "on"
TURNED_OFF = "off: turned off (--no-accel)"


class AcceleratorError(RuntimeError):
    """An accelerator the parent found complete is not complete in a worker: a bug."""


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None; the only place versions are read."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def plan(enabled: bool = True) -> dict[str, str]:
    """Each accelerator's state: ``"on"`` or ``"off: <why>"``."""
    return {name: state(_module(name)) if enabled else TURNED_OFF for name in NAMES}


def state(module: ModuleType) -> str:
    tested: dict[str, str] = module.TESTED
    for distribution, versions in tested.items():
        found = installed_version(distribution)
        if found is None:
            return f"off: {distribution} is not installed"
        try:
            known = Version(found) in SpecifierSet(versions)
        except InvalidVersion:
            known = False
        if not known:
            return f"off: {distribution} {found} is not a version it was tested with ({versions})"
    missing: list[str] = module.missing()
    if missing:
        return f"off: {', '.join(missing)} not found"
    return ON


def warnings(states: dict[str, str]) -> list[str]:
    """One line per accelerator that is off, for the user to see; one for all turned off."""
    if states and set(states.values()) == {TURNED_OFF}:
        return ["accelerators turned off (--no-accel); the check runs slower, same verdicts"]
    return [
        f"accelerator {name} {why}; the check runs slower, same verdicts"
        for name, why in states.items()
        if why != ON
    ]


_applied: set[str] = set()  # in this process: a worker may serve several runs (impact)


def activate(names: Iterable[str]) -> None:
    """Apply the accelerators ``names`` in this process, each once."""
    for name in names:
        if name in _applied:
            continue
        module = _module(name)
        missing: list[str] = module.missing()
        if missing:  # never patch part of it
            raise AcceleratorError(f"accelerator {name}: {', '.join(missing)} not found")
        module.apply()
        _applied.add(name)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")

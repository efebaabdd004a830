"""``apiseed impact``: what a template change does to every variant, for its reviewer.

Both revisions of the template repository are rendered for every variant by the check's
worker pool (``git archive`` of the older one, the working tree or another ``git archive``
for the newer one), and each variant's two trees are compared file by file (``trees``: paths,
modes and contents; the recorded template path and the random secrets are masked). A changed
file is put under the feature that owns it (the matrix's feature files) or under ``shared``.
"""

import io
import itertools
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apiseed.errors import ApiseedError
from apiseed.matrix.check import scratch
from apiseed.matrix.declaration import Matrix, matrix
from apiseed.matrix.pool import Pool
from apiseed.matrix.steps import Failure, recorded_answers
from apiseed.matrix.trees import ANSWERS_FILE, entries
from apiseed.matrix.variants import Variant
from apiseed.matrix.worker import Run

if TYPE_CHECKING:
    from rich.console import Console

SHARED = "shared"  # a file no single feature owns
SIDES = ("from", "to")

Select = Callable[[Path], Sequence[Variant]]  # the variants of a template folder


@dataclass(frozen=True)
class Revision:
    ref: str | None  # as the user named it; None: the working tree
    commit: str | None  # the commit it names; None: the working tree

    def as_json(self) -> dict[str, str | None]:
        return {"ref": self.ref or "working tree", "commit": self.commit}

    def __str__(self) -> str:
        if self.ref is None or self.commit is None:
            return "the working tree"
        return f"{self.ref} ({self.commit[:10]})"


@dataclass
class VariantChange:
    """How one variant's rendered project differs between the two revisions."""

    variant: Variant
    status: str  # "changed", "added" (only rendered at "to") or "removed" (only at "from")
    files: dict[str, str] = field(default_factory=dict)  # path -> added/removed/changed
    owners: dict[str, str] = field(default_factory=dict)  # path -> feature or SHARED
    failures: dict[str, str] = field(default_factory=dict)  # side -> "step: message"

    def paths(self, how: str) -> list[str]:
        return sorted(path for path, kind in self.files.items() if kind == how)

    def by_feature(self) -> dict[str, dict[str, list[str]]]:
        grouped: dict[str, dict[str, list[str]]] = {}
        for path, how in sorted(self.files.items()):
            grouped.setdefault(self.owners[path], {}).setdefault(how, []).append(path)
        return grouped

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.variant.id,
            "status": self.status,
            "features": sorted(self.variant.features),
            **{how: self.paths(how) for how in ("added", "removed", "changed")},
            "by_feature": self.by_feature(),
            "failures": {side: self.failures.get(side) for side in SIDES},
        }


@dataclass
class Impact:
    before: Revision
    after: Revision
    variants: list[Variant]  # every variant seen, "to"'s first
    changes: list[VariantChange]  # the variants that change, in the same order
    seconds: float

    def exactly_with(self) -> list[str] | None:
        """The fewest features that pick out exactly the changed variants (every variant with
        all of them changes, no other does), those owning changed files first; None when no
        features do."""
        if not self.changes:
            return None
        changed = {change.variant.id for change in self.changes}
        owning = {owner for change in self.changes for owner in change.owners.values()}
        common = sorted(
            frozenset.intersection(*(c.variant.features for c in self.changes)),
            key=lambda feature: (feature not in owning, feature),
        )
        for size in range(len(common) + 1):
            for features in itertools.combinations(common, size):
                if {v.id for v in self.variants if v.features >= set(features)} == changed:
                    return list(features)
        return None

    def files(self) -> dict[str, dict[str, Any]]:
        """Each changed path: its feature and in how many variants it was added, removed or
        changed."""
        found: dict[str, dict[str, Any]] = {}
        for change in self.changes:
            for path, how in change.files.items():
                row = found.setdefault(
                    path, {"feature": change.owners[path], "added": 0, "removed": 0, "changed": 0}
                )
                row[how] += 1
        return dict(sorted(found.items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.before.as_json(),
            "to": self.after.as_json(),
            "variants": len(self.variants),
            "changed": len(self.changes),
            "unchanged": len(self.variants) - len(self.changes),
            "exactly_the_variants_with": self.exactly_with(),
            "files": self.files(),
            "changes": [change.as_json() for change in self.changes],
            "seconds": round(self.seconds, 3),
        }


def impact(
    template: Path,
    before: str,
    after: str | None,
    select: Select,
    *,
    jobs: int,
    accelerators: tuple[str, ...] = (),
) -> Impact:
    """Render the variants ``select`` picks at the revisions ``before`` and ``after`` (None:
    the working tree) of the git repository holding ``template``, and compare them; the
    features owning the files are those ``after``'s matrix declares."""
    from apiseed.template import working_copy

    started = time.perf_counter()
    repository, prefix = _repository(template)
    revisions = (
        Revision(before, _commit(repository, before)),
        Revision(after, None if after is None else _commit(repository, after)),
    )
    root = scratch("apiseed-impact-")
    try:
        runs: dict[str, Run] = {}
        chosen: dict[str, dict[str, Variant]] = {}
        for side, revision in zip(SIDES, revisions, strict=True):
            folder = root / side / "template"
            if revision.commit is None:
                working_copy(template, folder)
            else:
                _export(repository, revision, prefix, folder)
            runs[side] = Run(
                root=root / side, template=folder, postgres_url=None, accelerators=accelerators
            )
            runs[side].trees.mkdir()
            chosen[side] = {variant.id: variant for variant in select(folder)}
        failures = _render(root, runs, chosen, jobs)
        declared = matrix(runs["to"].template)
        variants = {**chosen["from"], **chosen["to"]}
        changes = []
        for variant in variants.values():
            trees = {side: runs[side].trees / variant.id for side in SIDES}
            change = _compare(variant, trees, failures[variant.id], declared)
            if variant.id not in chosen["from"]:
                change.status = "added"
            elif variant.id not in chosen["to"]:
                change.status = "removed"
            if change.files or change.status != "changed" or _render_failed_once(change):
                changes.append(change)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    seconds = time.perf_counter() - started
    return Impact(revisions[0], revisions[1], list(variants.values()), changes, seconds)


def _render(
    root: Path, runs: Mapping[str, Run], chosen: Mapping[str, Mapping[str, Variant]], jobs: int
) -> dict[str, dict[str, Failure]]:
    """Render every chosen variant at its side, in the check's warm workers; the failures."""
    sides = [(side, variant) for side in SIDES for variant in chosen[side].values()]
    failures: dict[str, dict[str, Failure]] = {variant.id: {} for _side, variant in sides}
    with Pool(min(jobs, len(sides)), cwd=root) as pool:
        items = [(runs[side], variant) for side, variant in sides]
        for index, (_timings, failure) in pool.map("render", items):
            if failure is not None:
                side, variant = sides[index]
                failures[variant.id][side] = failure
    return failures


def _compare(
    variant: Variant, trees: Mapping[str, Path], failed: Mapping[str, Failure], declared: Matrix
) -> VariantChange:
    found = {side: entries(tree) if tree.is_dir() else {} for side, tree in trees.items()}
    before, after = found["from"], found["to"]
    files = dict.fromkeys(after.keys() - before.keys(), "added")
    files |= dict.fromkeys(before.keys() - after.keys(), "removed")
    files |= {
        path: "changed" for path in before.keys() & after.keys() if before[path] != after[path]
    }
    recorded = [trees[side] for side in ("to", "from") if (trees[side] / ANSWERS_FILE).is_file()]
    answers = {**declared.defaults, **(recorded_answers(recorded[0]) if recorded else {})}
    owners = _owners(declared, answers, files)
    reasons = {side: f"{f.step}: {f.message}" for side, f in failed.items()}
    return VariantChange(variant, "changed", dict(sorted(files.items())), owners, reasons)


def _render_failed_once(change: VariantChange) -> bool:
    """Rendered at one revision and not at the other: a change even with no file to show."""
    failed = [change.failures.get(side, "").startswith("render:") for side in SIDES]
    return failed[0] != failed[1]


def _owners(declared: Matrix, answers: Mapping[str, Any], paths: Iterable[str]) -> dict[str, str]:
    """The feature owning each path (the most specific of the declared feature files, their
    ``{question}`` filled in with the project's answers), else SHARED."""
    owned = sorted(
        (
            (pattern.format_map(answers), feature)
            for feature, patterns in declared.feature_files.items()
            for pattern in patterns
        ),
        key=lambda pair: -len(pair[0]),
    )
    return {
        path: next(
            (
                feature
                for prefix, feature in owned
                if path == prefix or path.startswith(f"{prefix}/")
            ),
            SHARED,
        )
        for path in paths
    }


def _git(repository: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=repository, capture_output=True, check=False)


def _repository(template: Path) -> tuple[Path, str]:
    """The git repository holding the template, and the template's folder inside it."""
    found = (
        _git(template, "rev-parse", "--show-toplevel", "--show-prefix")
        if template.is_dir()
        else None
    )
    if found is None or found.returncode != 0:
        raise ApiseedError(
            f"the template at {template} is not in a git repository: apiseed impact compares"
            " two of its revisions (set APISEED_TEMPLATE to the template's git repository)"
        )
    top, prefix = [*found.stdout.decode().splitlines(), ""][:2]
    return Path(top), prefix


def _commit(repository: Path, ref: str) -> str:
    found = _git(
        repository, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
    )
    if found.returncode != 0 or not ref:
        raise ApiseedError(f"unknown revision {ref!r} in the template repository {repository}")
    return found.stdout.decode().strip()


def _export(repository: Path, revision: Revision, prefix: str, into: Path) -> None:
    """The template's folder at ``revision``, as plain files (Copier reads it as it is)."""
    assert revision.commit is not None
    archive = _git(repository, "archive", "--format=tar", f"{revision.commit}:{prefix}")
    if archive.returncode != 0:
        raise ApiseedError(
            f"cannot export {prefix or 'the repository'} at {revision}: "
            f"{archive.stderr.decode().strip()}"
        )
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    if not (into / "copier.yml").is_file():
        raise ApiseedError(
            f"the template repository has no copier.yml in {prefix or 'its root'} at {revision}"
        )


def print_impact(console: "Console", found: Impact) -> None:
    """The summary, the changed files with their features, and the variants grouped by what
    changes in them."""
    from rich.table import Table
    from rich.text import Text

    exactly = found.exactly_with()
    which = f": exactly the variants with {', '.join(exactly)}" if exactly else ""
    if exactly == []:
        which = ": every variant"
    files = Table("file", "feature", "added in", "removed in", "changed in", title="Changed files")
    for path, row in found.files().items():
        counts = (str(row[how] or "") for how in ("added", "removed", "changed"))
        files.add_row(Text(path), row["feature"], *counts)
    groups: dict[tuple[tuple[str, str], ...], list[VariantChange]] = {}
    for change in found.changes:
        groups.setdefault(tuple(sorted(change.files.items())), []).append(change)
    variants = Table("variants", "features all of them have", "files", title="Variants that change")
    signs = {"added": "+", "removed": "-", "changed": "~"}
    for same, changes in groups.items():
        ids = [change.variant.id for change in changes]
        shown = "\n".join(ids) if len(ids) <= 3 else f"{len(ids)}, e.g.\n{ids[0]}"
        common = frozenset.intersection(*(change.variant.features for change in changes))
        listing = "\n".join(f"{signs[how]} {path}" for path, how in same) or "(render failed)"
        variants.add_row(Text(shown), ", ".join(sorted(common)) or "-", Text(listing))
    for table in (files, variants):  # paths and ids whole, also in a narrow log
        for column in table.columns:
            column.overflow = "fold"
    if found.changes:
        console.print(files)
        console.print(variants)
    for change in found.changes:
        for side, reason in change.failures.items():
            console.print(f"FAILED {change.variant.id} at {side}: {reason}", markup=False)
    console.print(
        f"{len(found.changes)} of {len(found.variants)} variant(s) change from "
        f"{found.before} to {found.after}{which} ({found.seconds:.1f} s)",
        markup=False,
    )

"""Mutation score of the modules whose mistakes lose users' work or hide failures (cosmic-ray).

    python -m pip install -e ".[bench]"
    nice -n 10 python bench/mutation.py [--module matrix/report ...] [--sample N] [--seed S]

Each module is mutated by cosmic-ray in a scratch copy of this checkout (uncommitted changes
included), one mutant at a time, and its own fast test selection runs against every mutant
(the matrix tests would take minutes per mutant). A mutant is killed when a test fails.

Not every mutant cosmic-ray can make measures something; these are skipped, so the score is
over the rest:
- mutants inside type annotations (``Path | None`` -> ``Path % None``): the module fails to
  import, which any test notices;
- all but one replacement per operator site: cosmic-ray replaces each binary operator by
  every other one and each comparison by every other one; the kept replacement is the
  mutation a mistake would make (``+`` -> ``-``, ``/`` -> ``*``, ``==`` -> ``!=``,
  ``<`` -> ``<=``, ``in`` -> ``not in``, ``is`` -> ``is not``, ...).
``--sample N`` then measures N random mutants of each module (seeded): say so with the score.

Prints, per module, the mutants made, measured, killed and survived, the score, and each
survivor's line and mutation. Nothing is asserted: see docs/benchmarks.md for the numbers.
"""

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkItem, WorkResult

REPO = Path(__file__).resolve().parent.parent
PYTEST = "python -m pytest -x -q -p no:cacheprovider -m 'not matrix'"
# Each module's tests that run in seconds, not the matrix.
SELECTIONS = {
    "project/answers": "tests/test_refusals.py tests/test_answer_space.py tests/test_cli_new.py"
    " -k '(data or bad_input or refus or answer) and not interrupt'",
    # Not the 48 updates of every toggle and the updated projects' own suites: minutes each.
    "project/update": "tests/test_migrations.py tests/test_update.py"
    " -k 'not toggle_equivalence and not passes_its_own_tests'",
    "project/diff": "tests/test_diff.py tests/test_migrations.py",
    "matrix/check": "tests/test_report.py tests/test_check.py -k 'mypy_cache or junit'",
    "matrix/report": "tests/test_report.py",
    "matrix/variants": "tests/test_variants.py tests/test_workflow.py",
    "matrix/declaration": "tests/test_variants.py tests/test_second_template.py"
    " -k 'not passes_every_step and not fails_at_files'",
}
TIMEOUT = 300  # seconds; a mutant that hangs its tests this long counts as killed
# The one replacement kept per operator site (cosmic-ray's operator name suffixes).
KEPT = {
    "ReplaceBinaryOperator": {
        "Add": "Sub",
        "Sub": "Add",
        "Mul": "Div",
        "Div": "Mul",
        "FloorDiv": "Div",
        "Mod": "FloorDiv",
        "Pow": "Mul",
        "LShift": "RShift",
        "RShift": "LShift",
        "BitOr": "BitAnd",
        "BitAnd": "BitOr",
        "BitXor": "BitOr",
    },
    "ReplaceComparisonOperator": {
        "Eq": "NotEq",
        "NotEq": "Eq",
        "Lt": "LtE",
        "LtE": "Lt",
        "Gt": "GtE",
        "GtE": "Gt",
        "Is": "IsNot",
        "IsNot": "Is",
        "In": "NotIn",
        "NotIn": "In",
    },
}
IGNORED = ("*.egg-info", ".git", ".venv", ".*cache", "__pycache__", "node_modules")


def annotations(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The (start, end) positions of every type annotation in ``source``."""
    found: list[ast.expr] = []
    for node in ast.walk(ast.parse(source)):
        annotation = None
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotation = node.returns
        elif isinstance(node, ast.arg | ast.AnnAssign):
            annotation = node.annotation
        if annotation is not None:
            found.append(annotation)
    return [
        ((node.lineno, node.col_offset), (node.end_lineno or 0, node.end_col_offset or 0))
        for node in found
    ]


def measures_nothing(
    item: WorkItem, spans: list[tuple[tuple[int, int], tuple[int, int]]], lines: list[str]
) -> bool:
    (mutation,) = item.mutations
    start = tuple(mutation.start_pos)
    if any(begin <= start < end for begin, end in spans):
        return True
    line, column = mutation.start_pos
    after = lines[line - 1][column:]
    if after.startswith("*") and after[1:].lstrip()[:1] in (",", ")"):
        return True  # the bare * of a signature (keyword-only marker), not a multiplication
    operator, _, replacement = mutation.operator_name.removeprefix("core/").partition("_")
    if operator in KEPT:
        original, _, new = replacement.partition("_")
        return bool(KEPT[operator].get(original) != new)
    return False


def skip(db: WorkDB, items: list[WorkItem], why: str) -> None:
    for item in items:
        db.set_result(item.job_id, WorkResult(WorkerOutcome.SKIPPED, output=why))


def config(module: str, copy: Path) -> Path:
    path = copy / f"mutation-{module.replace('/', '-')}.toml"
    path.write_text(
        "[cosmic-ray]\n"
        f'module-path = "generator/apiseed/{module}.py"\n'
        f"timeout = {TIMEOUT}.0\n"
        "excluded-modules = []\n"
        f'test-command = "{PYTEST} {SELECTIONS[module]}"\n'
        '[cosmic-ray.distributor]\nname = "local"\n',
        encoding="utf-8",
    )
    return path


def cosmic_ray(*args: str | Path, cwd: Path) -> None:
    tool = Path(sys.executable).parent / "cosmic-ray"
    subprocess.run([tool, *map(str, args)], cwd=cwd, check=True)


def mutate(module: str, copy: Path, sample: int | None, seed: int) -> Iterator[str]:
    """Run cosmic-ray over one module in ``copy``; yield the lines of its report."""
    settings = config(module, copy)
    session = copy / f"mutation-{module.replace('/', '-')}.sqlite"
    baseline = subprocess.run(
        f"{PYTEST} {SELECTIONS[module]}", shell=True, cwd=copy, capture_output=True, text=True
    )
    if baseline.returncode != 0:
        yield f"{module}: the tests fail without any mutant:\n{baseline.stdout[-2000:]}"
        return
    cosmic_ray("init", settings, session, cwd=copy)
    source = (copy / "generator" / "apiseed" / f"{module}.py").read_text(encoding="utf-8")
    with use_db(str(session)) as db:
        items = sorted(db.work_items, key=lambda item: (item.mutations[0].start_pos, item.job_id))
        made = len(items)
        spans = annotations(source)
        lines = source.splitlines()
        kept = [item for item in items if not measures_nothing(item, spans, lines)]
        skip(db, [item for item in items if item not in kept], "measures nothing")
        if sample is not None and sample < len(kept):
            chosen = random.Random(seed).sample(kept, sample)
            skip(db, [item for item in kept if item not in chosen], "not sampled")
            kept = chosen
    started, cpu = time.perf_counter(), os.times()
    cosmic_ray("exec", settings, session, cwd=copy)
    after = os.times()
    cpu_seconds = sum(after[2:4]) - sum(cpu[2:4])
    with use_db(str(session), WorkDB.Mode.open) as db:
        done = [(item, result) for item, result in db.completed_work_items if item in kept]
    outcome = [result.test_outcome for _, result in done]
    killed, survived = outcome.count(TestOutcome.KILLED), outcome.count(TestOutcome.SURVIVED)
    other = len(done) - killed - survived
    score = killed / (killed + survived) if killed + survived else 0.0
    sampled = f", a sample of {sample} (seed {seed})" if sample is not None else ""
    yield (
        f"{module}: {made} mutants made, {len(kept)} measured{sampled}: {killed} killed, "
        f"{survived} survived, {other} incompetent; score {score:.0%} "
        f"({time.perf_counter() - started:.0f} s wall, {cpu_seconds:.0f} s CPU)"
    )
    for item, result in sorted(done, key=lambda pair: pair[0].mutations[0].start_pos):
        if result.test_outcome == TestOutcome.SURVIVED:
            (mutation,) = item.mutations
            line = mutation.start_pos[0]
            yield f"  survived: line {line}: {mutation.operator_name}: {lines[line - 1].strip()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", choices=SELECTIONS, help="default: all")
    parser.add_argument("--sample", type=int, help="measure N random mutants per module")
    parser.add_argument("--seed", type=int, default=16)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="apiseed-mutation-") as scratch:
        copy = Path(scratch) / "apiseed"
        shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(*IGNORED))
        # Subprocesses the tests start (check's workers, the CLI) import the mutant too.
        os.environ["PYTHONPATH"] = str(copy)
        for module in options.module or list(SELECTIONS):
            for line in mutate(module, copy, options.sample, options.seed):
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

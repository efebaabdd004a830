"""Run a generated project's tests many times, beside CPU hogs, and count the failed runs.

    nice -n 10 python bench/repeat_tests.py [--runs 200] [--hogs 1] [--data auth=jwt ...]
        [--project DIR] [-- PYTEST ARGUMENTS]

A test that passes only on an idle machine shows up here: the hogs burn CPU in bursts (busy,
then idle, a random few tens of milliseconds each) as other jobs on a shared CI machine do.
The project is rendered once from this checkout (the defaults: JWT, SQLite) into a temporary
folder, or into ``--project``, and its tests run with this interpreter, as ``apiseed check``
runs them. Prints the runs, the failed runs with their failing tests, the wall and CPU time.
"""

import argparse
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

import apiseed

REPO = Path(__file__).resolve().parent.parent


def hog(seed: int) -> None:
    """Burn CPU in bursts until killed."""
    rng = random.Random(seed)
    while True:
        until = time.perf_counter() + rng.uniform(0.01, 0.2)
        while time.perf_counter() < until:
            pass
        time.sleep(rng.uniform(0.0, 0.1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--hogs", type=int, default=1, help="CPU-burning processes beside")
    parser.add_argument("--data", action="append", default=[], help="an answer, NAME=VALUE")
    parser.add_argument("--project", type=Path, help="render here (default: a temporary folder)")
    parser.add_argument("pytest_args", nargs="*", help="after --: what pytest runs")
    options = parser.parse_args()

    project = options.project or Path(tempfile.mkdtemp(prefix="apiseed-repeat-")) / "project"
    answers = {
        name: yaml.safe_load(value) for name, value in (d.split("=", 1) for d in options.data)
    }
    apiseed.render(
        apiseed.working_copy(REPO, project.parent / "template"),
        project,
        data=answers,
        defaults=True,
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options.pytest_args]
    hogs = [
        multiprocessing.Process(target=hog, args=(seed,), daemon=True)
        for seed in range(options.hogs)
    ]
    for process in hogs:
        process.start()
    failed: list[tuple[int, list[str]]] = []
    start, cpu_start = time.perf_counter(), os.times()
    try:
        for run in range(1, options.runs + 1):
            result = subprocess.run(
                command, cwd=project, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                failed.append((run, re.findall(r"^FAILED (\S+)", result.stdout, re.MULTILINE)))
        # Before the hogs are reaped: only the test runs count.
        wall, cpu_end = time.perf_counter() - start, os.times()
    finally:
        for process in hogs:
            process.kill()
            process.join()
    cpu = (
        cpu_end.children_user
        + cpu_end.children_system
        - cpu_start.children_user
        - cpu_start.children_system
    )

    print(f"{project}: {' '.join(command[1:])}")
    print(
        f"{options.runs} runs beside {options.hogs} CPU hog(s), {os.cpu_count()} CPUs: "
        f"{len(failed)} failed"
    )
    for run, tests in failed:
        print(f"  run {run}: {', '.join(tests) or 'see pytest output'}")
    print(f"wall {wall:.0f} s, tests' CPU {cpu:.0f} s ({cpu / options.runs:.2f} s/run)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

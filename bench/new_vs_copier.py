"""How long `apiseed new` takes against `copier copy` of the same template with the same answers.

    python bench/new_vs_copier.py [--rounds 7] [--data auth=jwt --data database=sqlite ...]

Both run as a user runs them, each a fresh process: ``apiseed new DEST --defaults --data ...``
and ``copier copy --defaults --data ... REPO DEST`` (Copier reads the template from this git
checkout at HEAD). The two alternate round by round, so a change in the machine's load touches
both alike; it prints each run's wall and CPU time, the medians and their ratios (CPU time is
the steadier figure on a busy machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, the process and its children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--data", action="append", default=[], help="KEY=VALUE, as both take it")
    options = parser.parse_args()
    data = [part for pair in options.data for part in ("--data", pair)]
    print(f"load average: {os.getloadavg()}; answers: {options.data or 'the defaults'}")
    times: dict[str, list[tuple[float, float]]] = {"apiseed new": [], "copier copy": []}
    with tempfile.TemporaryDirectory() as scratch:
        # Neither reads a developer's own Copier settings.
        settings = Path(scratch) / "copier-settings.yml"
        settings.write_text("{}\n")
        env = {**os.environ, "COPIER_SETTINGS_PATH": str(settings)}
        for round_number in range(options.rounds):
            for name in times:
                destination = Path(scratch) / f"{round_number}-{name.split()[0]}"
                if name == "apiseed new":
                    command = [str(BIN / "apiseed"), "new", str(destination), "--defaults", *data]
                else:
                    command = [
                        str(BIN / "copier"),
                        "copy",
                        "--quiet",
                        "--defaults",
                        "--vcs-ref",
                        "HEAD",
                        *data,
                        str(REPO),
                        str(destination),
                    ]
                times[name].append(timed(command, env))
                shutil.rmtree(destination)
            print(
                f"round {round_number + 1}: "
                + ", ".join(
                    f"{name} {runs[-1][0]:.2f} s ({runs[-1][1]:.2f} s CPU)"
                    for name, runs in times.items()
                )
            )
    for index, kind in enumerate(("wall", "CPU")):
        medians = {
            name: statistics.median(run[index] for run in runs) for name, runs in times.items()
        }
        mine, theirs = medians["apiseed new"], medians["copier copy"]
        print(
            f"{kind:>4}: apiseed new {mine:.2f} s, copier copy {theirs:.2f} s,"
            f" ratio {mine / theirs:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

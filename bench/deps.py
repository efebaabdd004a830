"""CPU per variant of the deps step: apiseed's own check against deptry as a subprocess.

    python bench/deps.py [--repeat N] [--ids ID,...]

Renders the variants (by default the all-on and the all-off one), then times each way of
checking their dependency declarations N times and prints the median CPU seconds (deptry's:
its process's user + system time). It only reports numbers: nothing here is asserted.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apiseed.matrix.declaration import matrix
from apiseed.matrix.deps import check_dependencies, distributions
from apiseed.matrix.variants import all_off, all_on, by_ids
from apiseed.project.render import render
from apiseed.template import working_copy

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--ids", help="comma-separated variant ids")
    options = parser.parse_args()
    deptry = shutil.which("deptry")
    if deptry is None:
        print("deptry is not installed: python -m pip install deptry", file=sys.stderr)
        return 1
    declared = matrix(REPO)
    chosen = by_ids(REPO, options.ids.split(",")) if options.ids else (all_on(REPO), all_off(REPO))
    distributions()  # read once, as a worker does
    print(f"load average: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as scratch:
        template = working_copy(REPO, Path(scratch) / "template")
        for variant in chosen:
            tree = Path(scratch) / variant.id
            render(template, tree, variant.answers, defaults=True)
            own, sub = [], []
            for _ in range(options.repeat):
                started = time.process_time()
                check_dependencies(tree, "my_service", declared.tools, declared.used_without_import)
                own.append(time.process_time() - started)
                before = os.times()
                subprocess.run(
                    [deptry, ".", "--known-first-party", "my_service"],
                    cwd=tree,
                    capture_output=True,
                    check=False,
                )
                after = os.times()
                sub.append(
                    after.children_user
                    + after.children_system
                    - before.children_user
                    - before.children_system
                )
            print(
                f"{variant.id}: apiseed {statistics.median(own):.3f} s CPU,"
                f" deptry {statistics.median(sub):.3f} s CPU (median of {options.repeat})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

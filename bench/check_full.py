"""Time ``apiseed check`` over a tier (the full one by default) and show where the time goes.

    python bench/check_full.py [--tier full] [--jobs N] [--timings FILE] [--no-accel]

Prints the wall time, the CPU time (this process and its workers), the median seconds per
variant of each step and each step's total; ``--timings FILE`` also writes each variant's step
times as JSON. It only reports numbers: nothing here is asserted.
The load average is printed too: on a machine shared with other work the numbers are pessimistic.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apiseed.matrix import accel
from apiseed.matrix.check import check
from apiseed.matrix.pool import default_jobs
from apiseed.matrix.variants import TIERS, by_ids, variants

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=TIERS, default="full")
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--ids", help="comma-separated variant ids instead of a tier")
    parser.add_argument("--every", type=int, default=1, help="only every N-th variant")
    parser.add_argument("--template", type=Path, default=REPO, help="template checkout")
    parser.add_argument("--timings", type=Path, help="write each variant's step times (JSON)")
    parser.add_argument("--no-accel", action="store_true", help="without the accelerators")
    options = parser.parse_args()

    template = options.template
    if options.ids:
        chosen = by_ids(template, options.ids.split(","))
    else:
        chosen = variants(template, options.tier)[:: options.every]
    load_before = os.getloadavg()[0]
    accelerators = accel.plan(enabled=not options.no_accel)
    report = check(template, chosen, jobs=options.jobs, accelerators=accelerators)
    load_after = os.getloadavg()[0]

    count = len(report.outcomes)
    selection = "chosen ids" if options.ids else f"tier {options.tier} (every {options.every})"
    print(
        f"{selection}: {count} variants, {len(report.failures)} failed, "
        f"{options.jobs} jobs, {os.cpu_count()} CPUs"
    )
    print(
        f"wall {report.wall_seconds:.1f} s, CPU {report.cpu_seconds:.1f} s "
        f"({report.cpu_seconds / count:.2f} core-s/variant)"
    )
    print("accelerators: " + ", ".join(f"{k} {v}" for k, v in accelerators.items()))
    print(f"load average (1 min) before {load_before:.2f}, after {load_after:.2f}")
    print(f"{'step':<8} {'median wall s':>14} {'median CPU s':>13} {'total CPU s':>12}")
    wall, cpu, totals = report.medians(), report.medians("cpu"), report.totals("cpu")
    for step in wall:
        print(f"{step:<8} {wall[step]:>14.3f} {cpu[step]:>13.3f} {totals[step]:>12.1f}")
    if options.timings:
        rows = [
            {"id": o.variant.id, "wall": o.timings.wall, "cpu": o.timings.cpu}
            for o in report.outcomes
        ]
        options.timings.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    for outcome in report.failures:
        assert outcome.failure is not None
        print(f"FAILED {outcome.variant.id} [{outcome.failure.step}] {outcome.failure.message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

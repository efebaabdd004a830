"""What each accelerator (``apiseed.matrix.accel``) is worth: ``apiseed check`` over a sample of
variants with the accelerators on and off, interleaved, and each step's CPU seconds.

    python bench/accel.py [--every 29] [--rounds 2] [--configs on,off] [--jobs 2]
    python bench/accel.py --render-only [--every 12] [--configs on,off]

A config is ``on`` (every accelerator the versions allow), ``off``, or ``-NAME[+NAME]`` (all on
but those). The sample is every N-th variant of the full tier at the default Python version.
``--render-only`` renders the sample in this process instead (the jinja and copier
accelerators' share). It only reports numbers; the machine's load average is printed beside them.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "generator"))

from apiseed.matrix import accel, steps
from apiseed.matrix.check import check
from apiseed.matrix.variants import Variant, variants
from apiseed.template import working_copy

REPO = Path(__file__).resolve().parent.parent


def states(config: str) -> dict[str, str]:
    if config == "off":
        return accel.plan(enabled=False)
    found = accel.plan()
    if config.startswith("-"):
        for name in config[1:].split("+"):
            found[name] = accel.TURNED_OFF
    return found


def render_only(sample: list[Variant], config: str) -> dict[str, object]:
    """Render the sample here, in one process, as a check worker does; CPU per render."""
    on = [name for name, state in states(config).items() if state == accel.ON]
    root = Path(tempfile.mkdtemp(prefix="apiseed-bench-"))
    try:
        template = working_copy(REPO, root / "template")
        accel.activate([name for name in on if name in ("jinja", "copier")])
        steps.render(template, root / "warm", sample[0])  # imports and first compiles
        started, cpu = time.perf_counter(), time.process_time()
        for variant in sample:
            steps.render(template, root / "trees" / variant.id, variant)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"renders": len(sample), "wall": round(wall, 2), "cpu_per_render": cpu / len(sample)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=29)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--configs", default="on,off")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--render-in-process", metavar="CONFIG", help=argparse.SUPPRESS)
    options = parser.parse_args()

    default = [v for v in variants(REPO, "full") if "python_version" not in v.answers]
    sample = default[:: options.every]
    if options.render_in_process:
        print(json.dumps(render_only(sample, options.render_in_process)))
        return 0
    for round_number in range(options.rounds):
        for config in options.configs.split(","):
            load = os.getloadavg()[0]
            if options.render_only:  # a process per config: a patch cannot be taken back
                command = [sys.executable, __file__, "--every", str(options.every)]
                command.append(f"--render-in-process={config}")
                output = subprocess.run(command, capture_output=True, text=True, check=True)
                row: dict[str, object] = json.loads(output.stdout)
            else:
                report = check(REPO, sample, jobs=options.jobs, accelerators=states(config))
                count = len(report.outcomes)
                row = {
                    "variants": count,
                    "failed": len(report.failures),
                    "wall": round(report.wall_seconds, 1),
                    "cpu_per_variant": round(report.cpu_seconds / count, 3),
                    "step_cpu_totals": {k: round(v, 1) for k, v in report.totals("cpu").items()},
                }
            print(json.dumps({"round": round_number, "config": config, "load": load, **row}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

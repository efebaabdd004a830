"""Time ``apiseed check --cache`` and ``apiseed impact`` over a tier (the full one by default).

    python bench/check_cache.py [--tier full] [--jobs N] [--cache DIR] [--no-change]

On a git repository made from a copy of the template's working tree:

1. cold: ``check`` with the cache at DIR (empty unless an earlier run of this script filled
   it for the same template and toolchain);
2. warm: ``check`` of the unchanged template: every variant should come from the cache;
3. ``impact`` of a change to the static-files template (a paragraph in ``index.html``), then
   ``check`` of the changed template: only the variants ``impact`` lists should be checked,
   and those are the static-files variants.

Prints wall and CPU time (this process and its workers), and the counts, for each. It only
reports numbers: nothing here is asserted.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "generator"))

from apiseed.matrix.cache import ResultCache, toolchain
from apiseed.matrix.check import Report, check
from apiseed.matrix.impact import impact
from apiseed.matrix.pool import default_jobs
from apiseed.matrix.steps import cpu_seconds
from apiseed.matrix.variants import TIERS, variants
from apiseed.template import working_copy

REPO = Path(__file__).resolve().parent.parent
INDEX = "template/{% if static_files %}{{ static_dir }}{% endif %}/index.html.jinja"


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", *identity, *args], cwd=repo, check=True, capture_output=True)


def show(name: str, report: Report) -> set[str]:
    """One line about a check; the ids it checked (not from the cache)."""
    count = len(report.outcomes)
    cached = [outcome for outcome in report.outcomes if outcome.cached]
    print(
        f"{name}: {count} variants, {len(cached)} from the cache, "
        f"{count - len(cached)} checked, {len(report.failures)} failed; "
        f"wall {report.wall_seconds:.1f} s, CPU {report.cpu_seconds:.1f} s; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for outcome in report.failures:
        assert outcome.failure is not None
        print(f"  FAILED {outcome.variant.id} [{outcome.failure.step}] {outcome.failure.message}")
    return {outcome.variant.id for outcome in report.outcomes if not outcome.cached}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=TIERS, default="full")
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--cache", type=Path, help="the cache folder (default: a new one)")
    parser.add_argument("--no-change", action="store_true", help="stop after the warm run")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="apiseed-bench-") as scratch:
        repo = working_copy(REPO, Path(scratch) / "template")
        git(repo, "init", "--quiet")
        git(repo, "add", "--all")
        git(repo, "commit", "--quiet", "-m", "template")
        cache = ResultCache(options.cache or Path(scratch) / "cache", toolchain(repo))
        chosen = variants(repo, options.tier)
        print(f"tier {options.tier}: {len(chosen)} variants, {options.jobs} jobs")
        show("cold", check(repo, chosen, jobs=options.jobs, cache=cache))
        show("warm", check(repo, chosen, jobs=options.jobs, cache=cache))
        if options.no_change:
            return 0

        index = repo / INDEX
        text = index.read_text(encoding="utf-8")
        index.write_text(text.replace("  </body>", "    <p>Hello.</p>\n  </body>"), "utf-8")
        started, cpu = time.perf_counter(), cpu_seconds()
        found = impact(repo, "HEAD", None, lambda t: variants(t, options.tier), jobs=options.jobs)
        print(
            f"impact: {len(found.changes)} of {len(found.variants)} variants change, exactly "
            f"those with {found.exactly_with()}; wall {time.perf_counter() - started:.1f} s, "
            f"CPU {cpu_seconds() - cpu:.1f} s"
        )
        checked = show("static", check(repo, chosen, jobs=options.jobs, cache=cache))
        static = {variant.id for variant in chosen if "static_files" in variant.features}
        listed = {change.variant.id for change in found.changes}
        print(
            f"checked == the variants impact lists: {checked == listed}; "
            f"== the static-files variants ({len(static)}): {checked == static}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

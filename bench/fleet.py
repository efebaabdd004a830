"""Time per project of `apiseed status` and `apiseed update` over a fleet of generated projects.

A git repository of the template's working copy is tagged v1.0.0, changed (a line in the
generated README, a new file) and tagged v2.0.0. N projects (default 20) are generated at
v1.0.0 with answers cycling through six sets, committed, and every third one gets a hand edit
on the README line the template changes (a conflict). Then the `apiseed` command is timed as a
user runs it: `apiseed status` over the fleet (--json), `apiseed update` of the fleet (each on
its own branch), and `apiseed update` again (every branch already there). CPU counts apiseed and
all its children (git).

    nice -n 10 python bench/fleet.py [--projects 20] [--jobs 2] [--write]

--write adds the row to the fleet section of docs/benchmarks.md.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = REPO / "docs" / "benchmarks.md"
SECTION = "## The fleet: `bench/fleet.py`"
ANSWERS = [
    {},
    {"auth": "none", "database": "none"},
    {"auth": "api_key", "database": "postgresql"},
    {"middleware": "false", "background_tasks": "false"},
    {"static_files": "false", "cors_origins": "[]"},
    {"auth": "none", "docs_url": "", "redoc_url": "", "openapi_url": ""},
]
APISEED = str(Path(sys.executable).parent / "apiseed")


def run(cwd: Path, *args: str, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode not in ok:
        raise SystemExit(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result.stdout


def timed(cwd: Path, *args: str, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (this child and its children) of one command, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    output = run(cwd, *args, env=env, ok=(0, 1))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, output


def make_fleet(work: Path, count: int, env: dict[str, str]) -> list[Path]:
    sys.path.insert(0, str(REPO / "generator"))
    from apiseed.template import working_copy

    template = working_copy(REPO, work / "template")
    run(template, "git", "init", "--quiet", env=env)
    run(template, "git", "add", "--all", env=env)
    run(template, "git", "commit", "--quiet", "-m", "v1", env=env)
    run(template, "git", "tag", "v1.0.0", env=env)
    readme = template / "template" / "README.md.jinja"
    readme.write_text(
        readme.read_text(encoding="utf-8").replace("\n", "\nTemplate v2.\n", 1), encoding="utf-8"
    )
    (template / "template" / "CONTRIBUTING.md").write_text("# Contributing\n", encoding="utf-8")
    run(template, "git", "commit", "--quiet", "-am", "v2", env=env)
    run(template, "git", "add", "--all", env=env)
    run(template, "git", "commit", "--quiet", "-m", "v2 files", env=env)
    run(template, "git", "tag", "v2.0.0", env=env)
    rendered: list[Path] = []
    for number, answers in enumerate(ANSWERS):
        dest = work / "rendered" / str(number)
        data = [arg for name, value in answers.items() for arg in ("--data", f"{name}={value}")]
        run(work, APISEED, "new", str(dest), "--defaults", "--vcs-ref", "v1.0.0", *data,
            env={**env, "APISEED_TEMPLATE": str(template)})  # fmt: skip
        rendered.append(dest)
    projects = []
    for number in range(count):
        project = work / "fleet" / f"service-{number:02}"
        shutil.copytree(rendered[number % len(rendered)], project)
        run(project, "git", "init", "--quiet", env=env)
        run(project, "git", "add", "--all", env=env)
        run(project, "git", "commit", "--quiet", "-m", "generated", env=env)
        if number % 3 == 2:
            readme = project / "README.md"
            lines = readme.read_text(encoding="utf-8").splitlines(keepends=True)
            lines.insert(1, f"Owned by team {number}.\n")
            readme.write_text("".join(lines), encoding="utf-8")
            run(project, "git", "commit", "--quiet", "-am", "our edit", env=env)
        projects.append(project)
    return projects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="add the row to docs/benchmarks.md")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="apiseed-bench-fleet-") as scratch:
        work = Path(scratch)
        (work / "gitconfig").write_text(
            "[user]\n\tname = bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n",
            encoding="utf-8",
        )
        (work / "copier.yml").write_text("{}\n", encoding="utf-8")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("APISEED_")},
            "GIT_CONFIG_GLOBAL": str(work / "gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "COPIER_SETTINGS_PATH": str(work / "copier.yml"),
            "COLUMNS": "200",
        }
        projects = make_fleet(work, options.projects, env)
        listing = work / "fleet.txt"
        listing.write_text("".join(f"{p}\n" for p in projects), encoding="utf-8")
        jobs = ("--jobs", str(options.jobs))
        status = timed(work, APISEED, "status", f"@{listing}", "--json", *jobs, env=env)
        behind = sum(each["behind"] for each in json.loads(status[2]))
        update = timed(work, APISEED, "update", f"@{listing}", "--json", *jobs, env=env)
        outcomes = [each["outcome"] for each in json.loads(update[2])]
        again = timed(work, APISEED, "update", f"@{listing}", "--json", *jobs, env=env)
    count = len(projects)
    summary = ", ".join(f"{outcomes.count(kind)} {kind}" for kind in sorted(set(outcomes)))
    row = (
        f"| {datetime.date.today()} | {git_head()} | {count} ({summary}; {behind} behind) "
        f"| {options.jobs} "
        + "".join(
            f"| {wall:.0f} s, **{wall / count:.2f} s**/project, {cpu / count:.2f} CPU s/project "
            for wall, cpu, _ in (status, update, again)
        )
        + "|"
    )
    print(row)
    if options.write:
        write(row)


def git_head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()


def write(row: str) -> None:
    text = BENCHMARKS.read_text(encoding="utf-8")
    if SECTION not in text:
        text = (
            text.rstrip("\n")
            + "\n\n"
            + HEADER.format(machine=f"{os.cpu_count()} cores, Python {platform.python_version()}")
        )
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    end = len(text) if end == -1 else end
    lines = text[start:end].rstrip("\n").split("\n")
    last_row = max(number for number, line in enumerate(lines) if line.startswith("|"))
    lines.insert(last_row + 1, row)
    section = "\n".join(lines) + "\n"
    BENCHMARKS.write_text(text[:start] + section + text[end:], encoding="utf-8")


HEADER = """{section}

Command: `nice -n 10 python bench/fleet.py --projects 20 --jobs 2 --write` ({machine}). A
fleet of projects generated at v1.0.0 of a template repository (six answer sets, every third
project with a hand edit on the line v2.0.0 changes), then the `apiseed` command timed as a
user runs it: `apiseed status @fleet.txt --json`, `apiseed update @fleet.txt` (each project on
a branch `apiseed/update-v2.0.0`), and the same update again (the branches are there: the same
result). CPU counts apiseed and its children (git); per project = total / projects.

| date | code | projects | jobs | status | update | update again |
|---|---|---|---|---|---|---|
""".replace("{section}", SECTION)


if __name__ == "__main__":
    main()

"""Size of the template's release history shipped in the wheel (``hatch_build.py``'s bundle).

The repository has one release so far, so every commit that changed the template (copier.yml
or template/) stands in for a release: a clone of the repository is tagged v0.0.N at each of
them and given to the wheel build hook's ``write_bundle``. Printed beside it: one release alone,
the whole repository's history as a bundle, and the wheel.

    python bench/release_bundle.py
"""

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hatch_build import write_bundle  # noqa: E402


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def history_bundle(clone: Path, commits: list[str], work: Path) -> int:
    """Tag ``commits`` as releases in ``clone``; the size of the bundle the build would ship."""
    for tag in git(clone, "tag", "--list").split():
        git(clone, "tag", "--delete", tag)
    for number, commit in enumerate(commits, 1):
        git(clone, "tag", f"v0.0.{number}", commit)
    work.mkdir()
    assert write_bundle(clone, work / "releases.bundle")
    return (work / "releases.bundle").stat().st_size


def main() -> None:
    commits = git(REPO, "rev-list", "--reverse", "HEAD", "--", "copier.yml", "template").split()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        clone = work / "clone"
        git(work, "clone", "--quiet", "--no-local", str(REPO), str(clone))
        every = history_bundle(clone, commits, work / "every")
        one = history_bundle(clone, commits[-1:], work / "one")
        git(clone, "bundle", "create", "--quiet", str(work / "repo.bundle"), "HEAD")
        whole = (work / "repo.bundle").stat().st_size
        wheels = work / "wheels"
        pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
        subprocess.run([*pip, "--no-build-isolation", "-w", str(wheels), str(REPO)], check=True)
        wheel = next(wheels.glob("*.whl")).stat().st_size
    count = git(REPO, "rev-list", "--count", "HEAD")
    print(f"releases (commits that changed the template): {len(commits)}")
    print(f"bundle of all {len(commits)} releases: {every / 1024:.1f} KiB")
    print(f"bundle of one release: {one / 1024:.1f} KiB")
    print(f"bundle of the whole repository ({count} commits): {whole / 1024:.1f} KiB")
    print(f"apiseed wheel (this checkout's tags): {wheel / 1024:.1f} KiB")


if __name__ == "__main__":
    main()

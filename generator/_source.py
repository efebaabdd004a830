"""Where the template comes from and which version of it a project was made from.

The template's home is a git repository whose releases are PEP 440 tags (``v0.1.0``): Copier
reads a version from there, and records both in a project's answers file (``_src_path``,
``_commit``), which is how ``apiseed update`` and plain ``copier update`` find it again.
apiseed ships the files of its own release (``v`` + the package version) so that ``apiseed
new`` works offline; a project made from them records the repository and that tag, exactly as
if Copier had read the repository itself.
"""

import importlib.metadata
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from generator._git import git
from generator._template import Question, bundled_template, parse_questions, questions

REPOSITORY = "https://github.com/apiseed/apiseed.git"
"""The template's git repository: the source recorded by projects made from the bundled copy."""

ANSWERS_FILE = ".copier-answers.yml"


def bundled_tag() -> str:
    """The release tag of the bundled template: ``v`` + this apiseed's version."""
    return f"v{importlib.metadata.version('apiseed')}"


def location(template: str | Path) -> str:
    """A local template as an absolute path (Copier records it as given), a URL as it is."""
    path = Path(template).expanduser()
    return str(path.absolute()) if path.exists() else str(template)


def is_plain_folder(source: str) -> bool:
    """A local template that is not a git repository: it has files but no versions."""
    path = Path(source)
    return path.is_dir() and not (path / ".git").exists()


def latest_tag(source: str) -> str:
    """The newest release tag of ``source`` by PEP 440 (pre-releases skipped), as Copier picks
    it; ``HEAD`` when there is none."""
    listing = git(Path(tempfile.gettempdir()), "ls-remote", "--tags", "--refs", "--", source)
    releases: dict[Version, str] = {}
    for line in listing.splitlines():
        tag = line.partition("\t")[2].removeprefix("refs/tags/")
        try:
            version = Version(tag)
        except InvalidVersion:
            continue
        if not version.is_prerelease:
            releases[version] = tag
    return releases[max(releases)] if releases else "HEAD"


def template_config(source: str, ref: str | None) -> dict[str, Any]:
    """The template's copier.yml at ``ref`` (one shallow fetch; the same for paths and URLs)."""
    if is_plain_folder(source):
        text = (Path(source) / "copier.yml").read_text(encoding="utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="apiseed-template-") as scratch:
            folder = Path(scratch)
            git(folder, "init", "--quiet")
            git(folder, "fetch", "--quiet", "--depth", "1", "--", source, ref or "HEAD")
            text = git(folder, "show", "FETCH_HEAD:copier.yml")
    config: dict[str, Any] = yaml.safe_load(text)
    return config


def stamp_answers(project: Path, source: str, tag: str) -> None:
    """Record ``source`` at ``tag`` as the template of a project rendered from a plain copy."""
    answers_file = project / ANSWERS_FILE
    stamp = yaml.safe_dump({"_commit": tag, "_src_path": source}, default_flow_style=False)
    lines = [
        stamp if line.startswith("_src_path:") else line
        for line in answers_file.read_text(encoding="utf-8").splitlines(keepends=True)
        if not line.startswith("_commit:")
    ]
    answers_file.write_text("".join(lines), encoding="utf-8")


def read_answers(project: Path) -> dict[str, Any]:
    """A project's answers file, or {} when it has none."""
    answers_file = project / ANSWERS_FILE
    if not answers_file.is_file():
        return {}
    loaded = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


@dataclass(frozen=True)
class TemplateVersion:
    """One version of the template: what a project records, and where its files are read."""

    source: str
    """Recorded as ``_src_path``: an absolute path or a URL."""
    ref: str | None
    """Recorded as ``_commit``: a release tag or commit; None for a plain folder."""
    files: Path | None = None
    """A local plain copy of exactly this version (the bundled release), rendered offline."""

    def questions(self) -> tuple[Question, ...]:
        if self.files is not None:
            return questions(self.files)
        return parse_questions(template_config(self.source, self.ref))


def version_of(source: str, ref: str | None) -> TemplateVersion:
    """``source`` at ``ref``, read from the bundled release when it is that release."""
    if (source, ref) == (REPOSITORY, bundled_tag()):
        return TemplateVersion(source, ref, bundled_template())
    return TemplateVersion(source, ref)


def resolve(template: str | Path | None, ref: str | None) -> TemplateVersion:
    """The version to generate from: ``template`` (default: apiseed's repository) at ``ref``
    (default: its newest release; for the repository, the bundled release)."""
    if template is None:
        return version_of(REPOSITORY, ref or bundled_tag())
    source = location(template)
    if is_plain_folder(source):
        return TemplateVersion(source, None)
    return version_of(source, ref or latest_tag(source))

"""Where the template comes from and which version of it a project was made from.

The template's home is a git repository whose releases are PEP 440 tags (``v0.1.0``): Copier
reads a version from there, and records both in a project's answers file (``_src_path``,
``_commit``), which is how ``apiseed update`` and plain ``copier update`` find it again.

apiseed's own repository (``REPOSITORY``) is its release channel: apiseed ships the files of
its own release (``v`` + the package version), so ``apiseed new`` and ``apiseed update`` of a
project at that release work offline. A project made from them records the repository and that
tag, exactly as if Copier had read the repository itself, so plain Copier (and Renovate) update
it from the repository. apiseed serves the repository to Copier from a local mirror holding the
bundled release (``serving``); only versions it does not ship are fetched from the network.
"""

import importlib.metadata
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from apiseed.errors import (
    GitError,
    TemplateNotFoundError,
    TemplateUnreachableError,
    UpdateError,
)
from apiseed.project.git import git
from apiseed.template import (
    Question,
    bundled_template,
    parse_questions,
    questions,
    working_copy,
)

REPOSITORY = "https://github.com/apiseed/apiseed.git"
"""The template's git repository: the source recorded by projects made from the bundled copy."""

ANSWERS_FILE = ".copier-answers.yml"
RELEASES_BUNDLE = "releases.bundle"
"""Beside the bundled template in the wheel: the template's earlier releases (hatch_build.py)."""
# The mirror's own commit: made by apiseed, whatever the user's git configuration asks for.
_RELEASE = (
    "-c",
    "user.name=apiseed",
    "-c",
    "user.email=apiseed@localhost",
    "-c",
    "tag.gpgSign=false",
)


def bundled_tag() -> str:
    """The release tag of the bundled template: ``v`` + this apiseed's version."""
    return f"v{importlib.metadata.version('apiseed')}"


def location(template: str | Path) -> str:
    """A local template as an absolute path (Copier records it as given), a URL as it is."""
    path = Path(template).expanduser()
    if path.exists():
        return str(path.absolute())
    text = str(template)
    if not _looks_remote(text):
        raise TemplateNotFoundError(f"template {text} not found: no such folder")
    return text


def _looks_remote(source: str) -> bool:
    """A URL or an scp-like address (``git@host:path``, ``gh:org/repo``) rather than a path."""
    head = source.split("/", 1)[0]
    return "://" in source or (":" in head and len(head) > 2)


def is_plain_folder(source: str) -> bool:
    """A local template that is not a git repository: it has files but no versions."""
    path = Path(source)
    return path.is_dir() and not (path / ".git").exists()


def latest_tag(source: str) -> str:
    """The newest release tag of ``source`` by PEP 440 (pre-releases skipped), as Copier picks
    it; ``HEAD`` when there is none."""
    try:
        listing = git(Path(tempfile.gettempdir()), "ls-remote", "--tags", "--refs", "--", source)
    except GitError as error:
        raise unreachable(source, error) from None
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


def newest_release(source: str, current: str) -> str:
    """The version ``apiseed update`` goes to by default from ``current`` of ``source``.

    For apiseed's repository that is the release bundled with this apiseed (upgrading apiseed
    is how a newer template arrives, and no network is needed); for any other repository, its
    newest release tag.
    """
    if source != REPOSITORY:
        return latest_tag(source)
    tag = bundled_tag()
    try:
        newer = Version(current) > Version(tag)
    except InvalidVersion:
        newer = False
    if newer:
        raise UpdateError(
            f"the project was made from template {current}, newer than the {tag} bundled with "
            f"this apiseed: upgrade apiseed (pip install --upgrade apiseed) or pass --to {current}"
        )
    return tag


def unreachable(source: str, error: GitError) -> TemplateUnreachableError:
    return TemplateUnreachableError(
        f"cannot read the template repository {source} ({error.reason}); "
        "check the path or URL and your network"
    )


def template_config(source: str, ref: str | None) -> dict[str, Any]:
    """The template's copier.yml at ``ref`` (one shallow fetch; the same for paths and URLs)."""
    if is_plain_folder(source):
        config_file = Path(source) / "copier.yml"
        if not config_file.is_file():
            raise TemplateNotFoundError(f"no copier.yml in {source}: it is not a Copier template")
        text = config_file.read_text(encoding="utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="apiseed-template-") as scratch:
            folder = Path(scratch)
            git(folder, "init", "--quiet")
            try:
                git(folder, "fetch", "--quiet", "--depth", "1", "--", source, ref or "HEAD")
            except GitError as error:
                raise unreachable(source, error) from None
            try:
                text = git(folder, "show", "FETCH_HEAD:copier.yml")
            except GitError:
                raise TemplateNotFoundError(
                    f"no copier.yml in {source} at {ref or 'HEAD'}: it is not a Copier template"
                ) from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise TemplateNotFoundError(f"copier.yml of {source} is not valid YAML: {reason}") from None
    if not isinstance(config, dict):
        raise TemplateNotFoundError(f"copier.yml of {source} is not a mapping of questions")
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
    """A project's answers file, or {} when it has none (or it is not a mapping)."""
    answers_file = project / ANSWERS_FILE
    if not answers_file.is_file():
        return {}
    try:
        loaded = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return {}
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
        if not (Path(source) / "copier.yml").is_file():
            raise TemplateNotFoundError(f"no copier.yml in {source}: it is not a Copier template")
        return TemplateVersion(source, None)
    return version_of(source, ref or latest_tag(source))


_served: list[Path] = []


@contextmanager
def serving(source: str, refs: Iterable[str | None]) -> Iterator[None]:
    """While open, git (and so Copier) reads apiseed's repository from a local mirror.

    The mirror holds the bundled release; versions among ``refs`` that apiseed does not ship
    are fetched into it from the repository first (a one-line error when it cannot be
    reached). Any other source is read as it is. Re-entrant: an inner call reuses the mirror.
    """
    if source != REPOSITORY or _served:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="apiseed-releases-") as scratch:
        mirror = Path(scratch)
        _make_mirror(mirror, sorted({ref for ref in refs if ref and ref != bundled_tag()}))
        with _git_environment(_redirect(mirror)):
            _served.append(mirror)
            try:
                yield
            finally:
                _served.pop()


def _make_mirror(mirror: Path, wanted: list[str]) -> None:
    """A git repository tagging the bundled release, with the ``wanted`` versions taken from
    the release history shipped with apiseed, or else fetched from the repository."""
    git(mirror, "init", "--quiet")
    history = bundled_template() / RELEASES_BUNDLE
    if wanted and history.is_file():
        git(mirror, "fetch", "--quiet", "--", str(history), "+refs/tags/*:refs/tags/*")
    missing = [ref for ref in wanted if not _has(mirror, ref)]
    if missing:
        try:
            git(
                mirror,
                "fetch",
                "--quiet",
                "--",
                REPOSITORY,
                "+refs/tags/*:refs/tags/*",
                "+refs/heads/*:refs/remotes/origin/*",
            )
        except GitError as error:
            raise TemplateUnreachableError(
                f"template {missing[0]} is not bundled with this apiseed (it has {bundled_tag()}) "
                f"and {REPOSITORY} cannot be reached ({error.reason}): connect to the network, "
                f"or install the apiseed release that ships it (pip install apiseed=="
                f"{missing[0].removeprefix('v')})"
            ) from None
        for ref in missing:
            if not _has(mirror, ref):
                raise TemplateUnreachableError(
                    f"the template repository {REPOSITORY} has no version {ref}"
                )
    working_copy(bundled_template(), mirror)
    git(mirror, "add", "--all", "--force", "--", ".")
    release = f"apiseed {bundled_tag()}"
    git(mirror, *_RELEASE, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", release)
    git(mirror, *_RELEASE, "tag", "--force", bundled_tag())


def _has(repository: Path, ref: str) -> bool:
    try:
        git(repository, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        return False
    return True


def _redirect(mirror: Path) -> dict[str, str]:
    """git configuration in the environment (git >= 2.31) reading REPOSITORY from ``mirror``."""
    count = int(os.environ.get("GIT_CONFIG_COUNT", "0"))
    return {
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": f"url.{mirror.as_uri()}.insteadOf",
        f"GIT_CONFIG_VALUE_{count}": REPOSITORY,
    }


@contextmanager
def _git_environment(variables: dict[str, str]) -> Iterator[None]:
    """Set ``variables`` for git run by apiseed and by Copier (plumbum keeps its own copy of
    the environment, taken when it was imported)."""
    from plumbum import local

    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        with local.env(**variables):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

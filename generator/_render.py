"""Generating a new project: render into a temporary folder, move into place only on success."""

import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from generator._errors import (
    DestinationNotEmptyError,
    InvalidAnswerError,
    UnknownQuestionError,
)
from generator._source import TemplateVersion, resolve, stamp_answers
from generator._template import Question, questions, working_copy

_COPIER_ERROR = re.compile(
    r"^(?:Validation error for question '(?P<q1>[^']+)': |Invalid choice for '(?P<q2>[^']+)': )"
    r"(?P<rule>.*)$",
    re.DOTALL,
)


def check_answer_names(template: Path, data: Mapping[str, Any]) -> None:
    check_names(questions(template), data)


def check_names(asked: Iterable[Question], data: Mapping[str, Any]) -> None:
    """Refuse answers to questions the template does not ask (Copier would ignore them)."""
    known = {question.name for question in asked}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UnknownQuestionError(
            f"unknown question {', '.join(repr(name) for name in unknown)}; "
            f"the template asks: {', '.join(sorted(known))}"
        )


def as_invalid_answer(error: ValueError) -> InvalidAnswerError | None:
    """Copier's validation errors, re-raised as one line naming the question and the rule."""
    match = _COPIER_ERROR.match(str(error))
    if match is None:
        return None
    rule = " ".join(match["rule"].split())
    return InvalidAnswerError(match["q1"] or match["q2"], rule)


def render(
    template: str | Path,
    dest: Path,
    data: Mapping[str, Any],
    *,
    defaults: bool,
    user_defaults: Mapping[str, Any] | None = None,
    vcs_ref: str | None = None,
    quiet: bool = True,
) -> None:
    """Render ``template`` into ``dest`` (which must not exist) with Copier's Python API."""
    import copier  # slow to import: only when rendering

    try:
        copier.run_copy(
            str(template),
            str(dest),
            data=dict(data),
            user_defaults=dict(user_defaults or {}),
            defaults=defaults,
            vcs_ref=vcs_ref,
            quiet=quiet,
            unsafe=False,
        )
    except ValueError as error:
        invalid = as_invalid_answer(error)
        if invalid is None:
            raise
        raise invalid from None


def render_version(
    version: TemplateVersion,
    dest: Path,
    data: Mapping[str, Any],
    *,
    defaults: bool,
    user_defaults: Mapping[str, Any] | None = None,
    quiet: bool = True,
) -> None:
    """Render one template version into ``dest``; its answers file records that version."""
    if version.files is None:
        render(
            version.source,
            dest,
            data,
            defaults=defaults,
            user_defaults=user_defaults,
            vcs_ref=version.ref,
            quiet=quiet,
        )
        return
    with tempfile.TemporaryDirectory(prefix="apiseed-template-") as scratch:
        files = working_copy(version.files, Path(scratch))
        render(files, dest, data, defaults=defaults, user_defaults=user_defaults, quiet=quiet)
    if version.ref is not None:
        stamp_answers(dest, version.source, version.ref)


def generate(
    template: str | Path | None,
    dest: Path,
    data: Mapping[str, Any],
    *,
    defaults: bool,
    user_defaults: Mapping[str, Any] | None = None,
    vcs_ref: str | None = None,
    quiet: bool = True,
) -> Path:
    """Create a new project at ``dest``; on any error ``dest`` is left exactly as it was.

    ``template`` is a path or git URL (None: apiseed's own repository, read from the bundled
    release when ``vcs_ref`` is that release); ``vcs_ref`` defaults to its newest release tag.
    The answers file records the template's source and version, so the project can be updated.
    """
    dest = dest.absolute()
    version = resolve(template, vcs_ref)
    check_names(version.questions(), data)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DestinationNotEmptyError(f"destination {dest} exists and is not an empty folder")
    missing_parents = [parent for parent in dest.parents if not parent.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".apiseed-", dir=dest.parent))
    done = False
    try:
        rendered = staging / dest.name
        render_version(
            version, rendered, data, defaults=defaults, user_defaults=user_defaults, quiet=quiet
        )
        secrets = rendered / ".env"
        if secrets.exists():  # the project's own secrets: its owner's to read, no one else's
            secrets.chmod(0o600)
        if dest.exists():
            for entry in rendered.iterdir():
                entry.rename(dest / entry.name)
        else:
            rendered.rename(dest)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            for parent in missing_parents:
                parent.rmdir()
    return dest

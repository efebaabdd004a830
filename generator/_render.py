"""Generating a new project: render into a temporary folder, move into place only on success."""

import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator._errors import (
    DestinationNotEmptyError,
    InvalidAnswerError,
    UnknownQuestionError,
)
from generator._template import questions

_COPIER_ERROR = re.compile(
    r"^(?:Validation error for question '(?P<q1>[^']+)': |Invalid choice for '(?P<q2>[^']+)': )"
    r"(?P<rule>.*)$",
    re.DOTALL,
)


def check_answer_names(template: Path, data: Mapping[str, Any]) -> None:
    known = {question.name for question in questions(template)}
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
    template: Path,
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


def generate(
    template: Path,
    dest: Path,
    data: Mapping[str, Any],
    *,
    defaults: bool,
    user_defaults: Mapping[str, Any] | None = None,
    vcs_ref: str | None = None,
    quiet: bool = True,
) -> Path:
    """Create a new project at ``dest``; on any error ``dest`` is left exactly as it was."""
    dest = dest.absolute()
    check_answer_names(template, data)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DestinationNotEmptyError(f"destination {dest} exists and is not an empty folder")
    missing_parents = [parent for parent in dest.parents if not parent.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".apiseed-", dir=dest.parent))
    done = False
    try:
        rendered = staging / dest.name
        render(
            template,
            rendered,
            data,
            defaults=defaults,
            user_defaults=user_defaults,
            vcs_ref=vcs_ref,
            quiet=quiet,
        )
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

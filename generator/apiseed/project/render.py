"""Generating a new project: render into a temporary folder, move into place only on success."""

import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from apiseed.errors import ApiseedError, DestinationNotEmptyError, InvalidAnswerError
from apiseed.project.answers import checked
from apiseed.project.source import TemplateVersion, resolve, serving, stamp_answers
from apiseed.template import working_copy

_COPIER_ERROR = re.compile(
    r"^(?:Validation error for question '(?P<q1>[^']+)': |Invalid choice for '(?P<q2>[^']+)': )"
    r"(?P<rule>.*)$",
    re.DOTALL,
)


def as_invalid_answer(error: ValueError) -> InvalidAnswerError | None:
    """Copier's validation errors, re-raised as one line naming the question and the rule."""
    match = _COPIER_ERROR.match(str(error))
    if match is None:
        return None
    rule = " ".join(match["rule"].split())
    return InvalidAnswerError(match["q1"] or match["q2"], rule)


def check_copier_settings() -> None:
    """Copier reads its settings file (``COPIER_SETTINGS_PATH``, or ``settings.yml`` in its
    folder of the user's config) on every run and fails with a traceback when that is not a
    mapping of settings: a one-line error naming the file instead."""
    from copier import load_settings
    from copier.errors import SettingsError
    from platformdirs import user_config_path

    try:
        load_settings()
    except (OSError, ValueError, SettingsError) as error:  # ValueError: not UTF-8
        path = os.environ.get("COPIER_SETTINGS_PATH") or user_config_path("copier") / "settings.yml"
        reason = " ".join(str(error).split()).replace(": :", ":")
        raise ApiseedError(f"{path} is not a valid Copier settings file: {reason}") from None


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

    check_copier_settings()
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
    # The bundled release is rendered from its files; another version is read with git.
    with serving(version.source, [version.ref]) if version.files is None else nullcontext():
        asked = version.questions()
        data = checked(asked, data)
        user_defaults = checked(asked, user_defaults or {}, "APISEED_DEFAULTS")
        missing_parents = _check_destination(dest)
        staging = _staging_folder(dest)
        done = False
        try:
            rendered = staging / dest.name
            render_version(
                version, rendered, data, defaults=defaults, user_defaults=user_defaults, quiet=quiet
            )
            secrets = rendered / ".env"
            if secrets.exists():  # the project's own secrets: its owner's to read, no one else's
                secrets.chmod(0o600)
            # Moving the project into place is all or nothing: an interrupt waits for it.
            with _interrupts_deferred():
                if dest.exists():
                    for entry in rendered.iterdir():
                        entry.rename(dest / entry.name)
                else:
                    rendered.rename(dest)
                done = True
                shutil.rmtree(staging, ignore_errors=True)
        finally:
            if not done:
                shutil.rmtree(staging, ignore_errors=True)
                for parent in missing_parents:
                    parent.rmdir()
    return dest


def _check_destination(dest: Path) -> list[Path]:
    """Refuse a destination that holds anything; create its missing parents and return them
    (to be removed again if the generation fails)."""
    try:
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise DestinationNotEmptyError(f"destination {dest} exists and is not an empty folder")
        missing_parents = [parent for parent in dest.parents if not parent.exists()]
        in_file = next((p for p in dest.parents if p.exists() and not p.is_dir()), None)
        if in_file is not None:
            raise ApiseedError(f"cannot create {dest}: {in_file} is a file, not a folder")
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ApiseedError(f"cannot create {dest}: {error.strerror or error}") from None
    return missing_parents


def _staging_folder(dest: Path) -> Path:
    """A new folder to render into, next to ``dest`` (on the same file system, so the result
    moves into place at once); inside ``dest`` when that is an empty folder whose parent
    cannot be written to."""
    try:
        return Path(tempfile.mkdtemp(prefix=".apiseed-", dir=dest.parent))
    except OSError as error:
        if dest.is_dir():
            try:
                return Path(tempfile.mkdtemp(prefix=".apiseed-", dir=dest))
            except OSError:
                pass
        raise ApiseedError(
            f"cannot create {dest}: {dest.parent} is not writable ({error.strerror or error})"
        ) from None


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """SIGINT (Ctrl-C) waits until the block is done; in the main thread, where it arrives."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

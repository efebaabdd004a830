"""apiseed's one public door: ``apiseed/__init__.py``, its names pinned here."""

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import apiseed

PUBLIC_NAMES = [
    "ApiseedError",
    "DataFileError",
    "DestinationNotEmptyError",
    "DirtyProjectError",
    "GeneratorSettings",
    "GitError",
    "InvalidAnswerError",
    "NotAProjectError",
    "Question",
    "REPOSITORY",
    "Report",
    "TemplateNotFoundError",
    "TemplateUnreachableError",
    "UnknownQuestionError",
    "UnknownVariantError",
    "UpdateError",
    "UpdateResult",
    "Variant",
    "bundled_template",
    "check",
    "diff",
    "generate",
    "questions",
    "render",
    "update",
    "variants",
    "working_copy",
]


def test_public_names_are_pinned() -> None:
    assert apiseed.__all__ == PUBLIC_NAMES


def test_every_public_name_is_its_modules_object() -> None:
    for name, module in apiseed._PUBLIC.items():
        assert getattr(apiseed, name) is getattr(importlib.import_module(module), name), name


def test_type_checkers_see_every_public_name(tmp_path: Path) -> None:
    """mypy --strict, as a user's code that imports them would be checked."""
    user = tmp_path / "user.py"
    user.write_text(
        f"from apiseed import {', '.join(PUBLIC_NAMES)}\n\nreveal_type(generate)\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(user)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout
    assert 'Revealed type is "def (template: ' in result.stdout


def test_other_names_are_not_public() -> None:
    with pytest.raises(AttributeError, match="no attribute 'render_version'"):
        _ = apiseed.render_version


def test_help_imports_neither_copier_nor_pydantic() -> None:
    script = textwrap.dedent(
        """
        import sys
        from apiseed.cli import app
        sys.argv = ["apiseed", "--help"]
        try:
            app()
        except SystemExit:
            pass
        print(sorted(name for name in ("copier", "pydantic") if name in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    assert result.stdout.splitlines()[-1] == "[]"


def test_errors_form_one_flat_hierarchy() -> None:
    errors = [getattr(apiseed, name) for name in PUBLIC_NAMES if name.endswith("Error")]
    for error in errors:
        assert error is apiseed.ApiseedError or error.__bases__ == (apiseed.ApiseedError,)

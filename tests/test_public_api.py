import ast
import importlib
from pathlib import Path

import pytest

import apiseed

PUBLIC_NAMES = [
    "REPOSITORY",
    "ApiseedError",
    "DataFileError",
    "DestinationNotEmptyError",
    "DirtyProjectError",
    "GeneratorSettings",
    "GitError",
    "InvalidAnswerError",
    "NotAProjectError",
    "Question",
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


def declared_imports() -> dict[str, str]:
    """What ``apiseed/__init__.py`` imports for type checkers: each name and its module."""
    tree = ast.parse(Path(apiseed.__file__).read_text(encoding="utf-8"))
    (block,) = [node for node in tree.body if isinstance(node, ast.If)]
    assert ast.unparse(block.test) == "TYPE_CHECKING"
    return {
        alias.name: node.module or ""
        for node in ast.walk(block)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_every_public_name_is_the_object_type_checkers_see() -> None:
    declared = declared_imports()

    assert sorted(declared) == sorted(PUBLIC_NAMES)
    for name, module in declared.items():
        assert getattr(apiseed, name) is getattr(importlib.import_module(module), name), name


def test_other_names_are_not_public() -> None:
    with pytest.raises(AttributeError, match="no attribute 'render_version'"):
        _ = apiseed.render_version


def test_errors_form_one_flat_hierarchy() -> None:
    errors = [getattr(apiseed, name) for name in PUBLIC_NAMES if name.endswith("Error")]
    for error in errors:
        assert error is apiseed.ApiseedError or error.__bases__ == (apiseed.ApiseedError,)

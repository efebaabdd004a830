"""apiseed: generate complete, tested, updatable FastAPI services.

The public names are below; everything in ``generator._*`` is private. Names are loaded
lazily so that ``apiseed --help`` does not pay for importing Copier.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator._check import Report, check
    from generator._diff import diff
    from generator._errors import (
        ApiseedError,
        DataFileError,
        DestinationNotEmptyError,
        DirtyProjectError,
        GitError,
        InvalidAnswerError,
        NotAProjectError,
        TemplateNotFoundError,
        TemplateUnreachableError,
        UnknownQuestionError,
        UnknownVariantError,
        UpdateError,
    )
    from generator._render import generate, render
    from generator._settings import GeneratorSettings
    from generator._source import REPOSITORY
    from generator._template import Question, bundled_template, questions, working_copy
    from generator._update import UpdateResult, update
    from generator._variants import Variant, variants

_PUBLIC = {
    "ApiseedError": "generator._errors",
    "DataFileError": "generator._errors",
    "DestinationNotEmptyError": "generator._errors",
    "DirtyProjectError": "generator._errors",
    "GitError": "generator._errors",
    "InvalidAnswerError": "generator._errors",
    "NotAProjectError": "generator._errors",
    "TemplateNotFoundError": "generator._errors",
    "TemplateUnreachableError": "generator._errors",
    "UnknownQuestionError": "generator._errors",
    "UpdateError": "generator._errors",
    "diff": "generator._diff",
    "UnknownVariantError": "generator._errors",
    "Report": "generator._check",
    "check": "generator._check",
    "generate": "generator._render",
    "render": "generator._render",
    "GeneratorSettings": "generator._settings",
    "REPOSITORY": "generator._source",
    "UpdateResult": "generator._update",
    "update": "generator._update",
    "Question": "generator._template",
    "bundled_template": "generator._template",
    "questions": "generator._template",
    "working_copy": "generator._template",
    "Variant": "generator._variants",
    "variants": "generator._variants",
}

__all__ = [
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


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'generator' has no attribute {name!r}")

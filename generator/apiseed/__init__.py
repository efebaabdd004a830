"""apiseed: generate complete, tested, updatable FastAPI services.

The public names are below; everything in ``apiseed._*`` is private. Names are loaded
lazily so that ``apiseed --help`` does not pay for importing Copier.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apiseed.errors import (
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
    from apiseed.matrix.check import Report, check
    from apiseed.matrix.variants import Variant, variants
    from apiseed.project.diff import diff
    from apiseed.project.render import generate, render
    from apiseed.project.source import REPOSITORY
    from apiseed.project.update import UpdateResult, update
    from apiseed.settings import GeneratorSettings
    from apiseed.template import Question, bundled_template, questions, working_copy

_PUBLIC = {
    "ApiseedError": "apiseed.errors",
    "DataFileError": "apiseed.errors",
    "DestinationNotEmptyError": "apiseed.errors",
    "DirtyProjectError": "apiseed.errors",
    "GitError": "apiseed.errors",
    "InvalidAnswerError": "apiseed.errors",
    "NotAProjectError": "apiseed.errors",
    "TemplateNotFoundError": "apiseed.errors",
    "TemplateUnreachableError": "apiseed.errors",
    "UnknownQuestionError": "apiseed.errors",
    "UpdateError": "apiseed.errors",
    "diff": "apiseed.project.diff",
    "UnknownVariantError": "apiseed.errors",
    "Report": "apiseed.matrix.check",
    "check": "apiseed.matrix.check",
    "generate": "apiseed.project.render",
    "render": "apiseed.project.render",
    "GeneratorSettings": "apiseed.settings",
    "REPOSITORY": "apiseed.project.source",
    "UpdateResult": "apiseed.project.update",
    "update": "apiseed.project.update",
    "Question": "apiseed.template",
    "bundled_template": "apiseed.template",
    "questions": "apiseed.template",
    "working_copy": "apiseed.template",
    "Variant": "apiseed.matrix.variants",
    "variants": "apiseed.matrix.variants",
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
    raise AttributeError(f"module 'apiseed' has no attribute {name!r}")

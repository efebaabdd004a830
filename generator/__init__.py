"""apiseed: generate complete, tested, updatable FastAPI services.

The public names are below; everything in ``generator._*`` is private. Names are loaded
lazily so that ``apiseed --help`` does not pay for importing Copier.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator._errors import (
        ApiseedError,
        DataFileError,
        DestinationNotEmptyError,
        InvalidAnswerError,
        TemplateNotFoundError,
        UnknownQuestionError,
    )
    from generator._render import generate, render
    from generator._settings import GeneratorSettings
    from generator._template import Question, bundled_template, questions, working_copy

_PUBLIC = {
    "ApiseedError": "generator._errors",
    "DataFileError": "generator._errors",
    "DestinationNotEmptyError": "generator._errors",
    "InvalidAnswerError": "generator._errors",
    "TemplateNotFoundError": "generator._errors",
    "UnknownQuestionError": "generator._errors",
    "generate": "generator._render",
    "render": "generator._render",
    "GeneratorSettings": "generator._settings",
    "Question": "generator._template",
    "bundled_template": "generator._template",
    "questions": "generator._template",
    "working_copy": "generator._template",
}

__all__ = [
    "ApiseedError",
    "DataFileError",
    "DestinationNotEmptyError",
    "GeneratorSettings",
    "InvalidAnswerError",
    "Question",
    "TemplateNotFoundError",
    "UnknownQuestionError",
    "bundled_template",
    "generate",
    "questions",
    "render",
    "working_copy",
]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'generator' has no attribute {name!r}")

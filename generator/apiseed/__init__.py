"""apiseed: generate complete, tested, updatable FastAPI services.

The public names are the ones imported in the block below (``X as X``: exported to type
checkers), and only those; the modules behind them are private. At run time each name is
imported on first use (``__getattr__``), so that ``apiseed --help`` does not pay for importing
Copier and Pydantic. ``__all__`` and that lookup are read from the block itself: it is the one
list of public names.
"""

import ast
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apiseed.errors import ApiseedError as ApiseedError
    from apiseed.errors import DataFileError as DataFileError
    from apiseed.errors import DestinationNotEmptyError as DestinationNotEmptyError
    from apiseed.errors import DirtyProjectError as DirtyProjectError
    from apiseed.errors import GitError as GitError
    from apiseed.errors import InvalidAnswerError as InvalidAnswerError
    from apiseed.errors import NotAProjectError as NotAProjectError
    from apiseed.errors import TemplateNotFoundError as TemplateNotFoundError
    from apiseed.errors import TemplateUnreachableError as TemplateUnreachableError
    from apiseed.errors import UnknownQuestionError as UnknownQuestionError
    from apiseed.errors import UnknownVariantError as UnknownVariantError
    from apiseed.errors import UpdateError as UpdateError
    from apiseed.matrix.check import Report as Report
    from apiseed.matrix.check import check as check
    from apiseed.matrix.variants import Variant as Variant
    from apiseed.matrix.variants import variants as variants
    from apiseed.project.diff import diff as diff
    from apiseed.project.render import generate as generate
    from apiseed.project.render import render as render
    from apiseed.project.source import REPOSITORY as REPOSITORY
    from apiseed.project.update import UpdateResult as UpdateResult
    from apiseed.project.update import update as update
    from apiseed.settings import GeneratorSettings as GeneratorSettings
    from apiseed.template import Question as Question
    from apiseed.template import bundled_template as bundled_template
    from apiseed.template import questions as questions
    from apiseed.template import working_copy as working_copy


def _public_names() -> dict[str, str]:
    """Each name imported under ``if TYPE_CHECKING:`` above, with its module."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    (block,) = [node for node in tree.body if isinstance(node, ast.If)]
    return {
        alias.name: str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


_PUBLIC = _public_names()
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'apiseed' has no attribute {name!r}")

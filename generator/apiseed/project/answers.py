"""Answers given to apiseed: ``--data KEY=VALUE``, ``--data-file FILE`` and ``APISEED_DEFAULTS``,
read and checked before Copier sees them, so that every mistake is one line naming it."""

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from apiseed.errors import DataFileError, InvalidAnswerError, UnknownQuestionError
from apiseed.template import Question

# Copier turns any other value of a yes/no question into "true" (``maybe``, ``2``): refused here.
_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})


def parse_data(pairs: list[str], data_file: Path | None) -> dict[str, Any]:
    """Answers from a YAML file, then KEY=VALUE pairs on top, as Copier's own CLI does."""
    answers: dict[str, Any] = {}
    if data_file is not None:
        try:
            loaded = yaml.safe_load(data_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            reason = " ".join(str(error).split())
            raise DataFileError(f"cannot read data file {data_file}: {reason}") from None
        if not isinstance(loaded, dict):
            raise DataFileError(f"data file {data_file} must hold a mapping of answers")
        answers.update({str(key): value for key, value in loaded.items()})
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise DataFileError(f"--data expects KEY=VALUE, got {pair!r}")
        answers[key.strip()] = value
    return answers


def checked(
    asked: Iterable[Question], answers: Mapping[str, Any], origin: str = ""
) -> dict[str, Any]:
    """``answers`` for the questions ``asked``: unknown names refused (Copier would ignore
    them), yes/no answers strictly true or false, YAML answers given as text parsed.

    ``origin`` names where the answers came from in the messages (e.g. ``APISEED_DEFAULTS``).
    """
    by_name = {question.name: question for question in asked}
    unknown = sorted(set(answers) - set(by_name))
    if unknown:
        where = f" in {origin}" if origin else ""
        raise UnknownQuestionError(
            f"unknown question {', '.join(repr(name) for name in unknown)}{where}; "
            f"the template asks: {', '.join(sorted(by_name))}"
        )
    return {name: _value(by_name[name], value) for name, value in answers.items()}


def _value(question: Question, value: Any) -> Any:
    if question.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if isinstance(value, str | int) and text in _TRUE | _FALSE:
            return text in _TRUE
        raise InvalidAnswerError(question.name, f"must be true or false, not {value!r}")
    if question.type == "yaml" and isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            problem = problem.replace("'\\x00'", "the end")  # PyYAML's end-of-input marker
            raise InvalidAnswerError(
                question.name, f"{value!r} is not valid YAML ({problem}); give a YAML value"
            ) from None
    return value

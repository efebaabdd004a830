"""Answers given on the command line: ``--data KEY=VALUE`` and ``--data-file FILE``."""

from pathlib import Path
from typing import Any

import yaml

from generator._errors import DataFileError


def parse_data(pairs: list[str], data_file: Path | None) -> dict[str, Any]:
    """Answers from a YAML file, then KEY=VALUE pairs on top, as Copier's own CLI does."""
    answers: dict[str, Any] = {}
    if data_file is not None:
        try:
            loaded = yaml.safe_load(data_file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            reason = str(error).splitlines()[0]
            raise DataFileError(f"cannot read data file {data_file}: {reason}") from None
        if not isinstance(loaded, dict):
            raise DataFileError(f"data file {data_file} must hold a mapping of answers")
        answers.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise DataFileError(f"--data expects KEY=VALUE, got {pair!r}")
        answers[key.strip()] = value
    return answers

"""Generator defaults, read from ``APISEED_*`` environment variables."""

from typing import Any

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from apiseed.errors import ApiseedError


class GeneratorSettings(BaseSettings):
    """Where the template comes from and which answers are the defaults.

    ``APISEED_TEMPLATE`` is a path or git URL of a template (default: the bundled one);
    ``APISEED_DEFAULTS`` is a JSON object of default answers, e.g. ``{"auth": "none"}``.
    """

    model_config = SettingsConfigDict(env_prefix="APISEED_", extra="ignore")

    template: str | None = None
    defaults: dict[str, Any] = {}

    @field_validator("template")
    @classmethod
    def empty_is_unset(cls, value: str | None) -> str | None:
        return value or None


def load_settings() -> GeneratorSettings:
    """The settings, or a one-line error naming the variable that is wrong."""
    try:
        return GeneratorSettings()
    except (SettingsError, ValidationError) as error:
        reason = ""
        if isinstance(error, SettingsError):
            reason = f" (not valid JSON: {' '.join(str(error.__cause__ or error).split())})"
        raise ApiseedError(
            f'APISEED_DEFAULTS must be a JSON object of answers, like {{"auth": "none"}}{reason}'
        ) from None

"""Generator defaults, read from ``APISEED_*`` environment variables."""

from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict


class GeneratorSettings(BaseSettings):
    """Where the template comes from and which answers are the defaults.

    ``APISEED_TEMPLATE`` is a path or git URL of a template (default: the bundled one);
    ``APISEED_DEFAULTS`` is a JSON object of default answers, e.g. ``{"auth": "none"}``.
    """

    model_config = SettingsConfigDict(env_prefix="APISEED_", extra="ignore")

    template: str | None = None
    defaults: dict[str, Any] = {}

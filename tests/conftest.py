"""Fixtures shared by apiseed's tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import bundled_template, working_copy

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def isolated_copier_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep a developer's own Copier settings (user defaults, trust) out of the tests."""
    settings = tmp_path_factory.mktemp("copier-settings") / "settings.yml"
    settings.write_text("{}\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COPIER_SETTINGS_PATH", str(settings))
        yield


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain copy of the template's working tree, uncommitted changes included."""
    return working_copy(bundled_template(), tmp_path_factory.mktemp("template"))

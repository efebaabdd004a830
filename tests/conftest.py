"""Fixtures shared by apiseed's tests."""

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from generator import bundled_template, working_copy

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = "APISEED_POSTGRES_URL"
REQUIRE_POSTGRES = "APISEED_REQUIRE_POSTGRES"


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


@pytest.fixture(scope="session", autouse=True)
def shared_mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Generated projects share one mypy cache per test process: re-checking another variant
    costs ~1 s instead of ~20 s. mypy re-checks whatever changed; python_version is part of
    the cache key."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MYPY_CACHE_DIR", str(tmp_path_factory.mktemp("mypy-cache")))
        yield


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL server for the PostgreSQL variants (.ci/run starts one and requires it).

    Without one, those variants skip, unless APISEED_REQUIRE_POSTGRES is set: then they fail.
    """
    url = os.environ.get(POSTGRES_URL)
    problem = f"{POSTGRES_URL} is not set (.ci/run starts a server and sets it)"
    if url:
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as error:
            problem = f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}"
        else:
            return url
    if os.environ.get(REQUIRE_POSTGRES):
        pytest.fail(f"{REQUIRE_POSTGRES} is set but {problem}")
    pytest.skip(f"PostgreSQL variants need a server: {problem}")

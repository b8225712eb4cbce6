"""Shared test fixtures: where ../shared is, and whether PostgreSQL is reachable.

Tests that need ``../shared`` (the real channel schemas and catalog) or a
PostgreSQL server skip with a clear reason when those are absent, as on a
user's clone; CI sets ``RECONCILER_REQUIRE_SHARED`` / ``..._POSTGRES`` so that
they fail there instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"
POSTGRES_URL = os.environ.get(
    "RECONCILER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def require_shared(relative: str) -> Path:
    """The path of a file under ../shared, or skip (fail in CI) without it."""
    path = SHARED / relative
    if path.exists():
        return path
    reason = f"needs ../shared/{relative}, which this checkout does not have"
    if os.environ.get("RECONCILER_REQUIRE_SHARED"):
        pytest.fail(reason + " (RECONCILER_REQUIRE_SHARED is set)")
    pytest.skip(reason)


def require_postgres() -> str:
    """A reachable PostgreSQL URL, or skip (fail in CI) without one."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(_driver_url(POSTGRES_URL))
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # any failure to connect means "not here"
        reason = f"no PostgreSQL reachable at {POSTGRES_URL}: {error}"
        if os.environ.get("RECONCILER_REQUIRE_POSTGRES"):
            pytest.fail(reason + " (RECONCILER_REQUIRE_POSTGRES is set)")
        pytest.skip(reason)
    return POSTGRES_URL


def _driver_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url

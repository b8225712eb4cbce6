"""Fixtures of the state store contract suite: one store per backend per test.

SQLite gets a real file in the test's temporary folder; PostgreSQL gets a
throwaway schema on the shared server (selected through the connection's
``search_path``), dropped after the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from reconciler.hub.state import SqlStateStore, open_state
from tests.conftest import _driver_url, require_postgres

START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@dataclass
class StepClock:
    """A ``now`` for the store that only moves when a test moves it."""

    current: datetime = START

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def _postgres_schema() -> Iterator[str]:
    """A state URL on a fresh schema of the test server; the schema is dropped."""
    base = require_postgres()
    schema = f"reconciler_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_driver_url(base))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty state database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
    else:
        yield from _postgres_schema()


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def store(state_url: str, clock: StepClock) -> Iterator[SqlStateStore]:
    state = open_state(state_url, now=clock)
    yield state
    state.close()

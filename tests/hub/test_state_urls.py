"""State URLs that are refused, and the read-only open of a dry run.

A refused URL creates nothing and connects nowhere; a read-only open creates
no folder, file, table or schema version, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from reconciler.errors import StateError
from reconciler.hub.records import HubRecord, RunKind, SeenValue
from reconciler.hub.state import open_state
from tests.apply.world import make_world
from tests.conftest import _driver_url
from tests.hub.conftest import START, _postgres_schema

SQLITE_FORMS = "sqlite:///relative/path.db or sqlite:////absolute/path.db"
POSTGRES_FORM = "postgresql://user@host:5432/dbname"


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- refused URLs ----------------------------------------------------------------


@pytest.mark.parametrize("migrate", [True, False], ids=["applying", "dry-run"])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "sqlite:///file:/tmp/x/ro2.db?mode=ro&uri=true",
            "state URL sqlite:///file:/tmp/x/ro2.db?mode=ro&uri=true: query strings "
            f"and file: URIs are not accepted; use {SQLITE_FORMS}",
            id="file-uri-with-query",
        ),
        pytest.param(
            "sqlite:///file:state.db",
            "state URL sqlite:///file:state.db: query strings and file: URIs are "
            f"not accepted; use {SQLITE_FORMS}",
            id="file-uri",
        ),
        pytest.param(
            "sqlite:///state.db?timeout=5",
            "state URL sqlite:///state.db?timeout=5: query strings and file: URIs "
            f"are not accepted; use {SQLITE_FORMS}",
            id="query-string",
        ),
        pytest.param(
            "sqlite://",
            "state URL sqlite://: in-memory state is refused, the hub and journal "
            f"would vanish at exit; use a file: {SQLITE_FORMS}",
            id="memory-bare",
        ),
        pytest.param(
            "sqlite:///:memory:",
            "state URL sqlite:///:memory:: in-memory state is refused, the hub and "
            f"journal would vanish at exit; use a file: {SQLITE_FORMS}",
            id="memory-named",
        ),
        pytest.param(
            "sqlite://files.example/state.db",
            "state URL sqlite://files.example/state.db: an SQLite URL names no host "
            f"or user; use {SQLITE_FORMS}",
            id="sqlite-with-host",
        ),
    ],
)
def test_unusable_sqlite_urls_are_refused_and_create_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    message: str,
    migrate: bool,
) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(StateError) as refused:
        open_state(url, migrate=migrate)

    assert str(refused.value) == message
    assert _files(tmp_path) == []


@pytest.mark.parametrize("migrate", [True, False], ids=["applying", "dry-run"])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "postgresql://",
            f"state URL postgresql://: no host; name the server explicitly, as in "
            f"{POSTGRES_FORM}",
            id="bare",
        ),
        pytest.param(
            "postgresql://stock:s3cret@/hub",
            "state URL postgresql://stock:***@/hub: no host; name the server "
            f"explicitly, as in {POSTGRES_FORM}",
            id="no-host-password-hidden",
        ),
        pytest.param(
            "postgresql://stock:s3cret@127.0.0.1:5432",
            "state URL postgresql://stock:***@127.0.0.1:5432: no database name; "
            f"name it explicitly, as in {POSTGRES_FORM}",
            id="no-database",
        ),
        pytest.param(
            "postgresql://stock@127.0.0.1/hub?host=/var/run/postgresql",
            "state URL postgresql://stock@127.0.0.1/hub?host=%2Fvar%2Frun%2Fpostgresql"
            ": give the server and database in the URL itself, not as query "
            f"option(s) host; use {POSTGRES_FORM}",
            id="socket-in-query",
        ),
        pytest.param(
            "postgres://stock@127.0.0.1/hub?dbname=postgres&service=main",
            "state URL postgres://stock@127.0.0.1/hub?dbname=postgres&service=main"
            ": give the server and database in the URL itself, not as query "
            f"option(s) dbname, service; use {POSTGRES_FORM}",
            id="database-in-query",
        ),
    ],
)
def test_postgres_urls_must_name_host_and_database(
    url: str, message: str, migrate: bool
) -> None:
    with pytest.raises(StateError) as refused:
        open_state(url, migrate=migrate)

    assert str(refused.value) == message
    assert "s3cret" not in message


# --- read-only open on SQLite ------------------------------------------------------


def _record(sku: str, quantity: int) -> HubRecord:
    return HubRecord(sku, "acme", True, quantity, START, "import:seed.csv")


def test_a_read_only_open_of_an_absent_file_creates_nothing_and_reads_empty(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/not/yet/state.db"

    with open_state(url, migrate=False) as state:
        found = (
            state.hub_records(),
            state.last_seen("eu"),
            state.runs(),
            state.run(1),
            state.journal_of(1),
            state.lease_holder("eu"),
            state.schema_version(),
        )

    assert found == ({}, {}, [], None, [], None, 0)
    assert _files(tmp_path) == []


def test_a_read_only_open_of_an_empty_file_leaves_it_empty(tmp_path: Path) -> None:
    (tmp_path / "state.db").touch()

    with open_state(f"sqlite:///{tmp_path}/state.db", migrate=False) as state:
        found = (state.hub_records(["A-1"]), state.last_seen("eu"))

    assert found == ({}, {})
    assert _files(tmp_path) == ["state.db"]
    assert (tmp_path / "state.db").stat().st_size == 0


def test_a_read_only_store_reads_what_is_there_and_refuses_every_write(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    with open_state(url) as made:
        made.put_hub_records([_record("A-1", 5)])
    before = (tmp_path / "state.db").read_bytes()
    refusal = f"state store {url} was opened read-only (dry run); refusing to write"

    with open_state(url, migrate=False) as state:
        assert state.hub_records() == {"A-1": _record("A-1", 5)}
        writes = [
            lambda: state.put_hub_records([_record("A-1", 6)]),
            lambda: state.record_seen([SeenValue("eu", "A-1", True, 6, START)]),
            lambda: state.start_run(RunKind.PASS, ["eu"]),
            lambda: state.acquire_lease("eu", "replica-1", 30),
            state.migrate,
        ]
        for write in writes:
            with pytest.raises(StateError) as refused:
                write()
            assert str(refused.value) == refusal

    assert (tmp_path / "state.db").read_bytes() == before
    assert _files(tmp_path) == ["state.db"]  # no -wal or -shm left behind


def test_a_read_only_open_refuses_a_database_needing_an_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.hub import state as module

    url = f"sqlite:///{tmp_path}/state.db"
    open_state(url).close()
    monkeypatch.setattr(module, "MIGRATIONS", (*module.MIGRATIONS, lambda _: None))

    with pytest.raises(StateError) as refused:
        open_state(url, migrate=False)

    assert str(refused.value) == (
        f"state store {url} holds schema version 1, older than version 2 that "
        "this reconciler reads; run a pass without --dry-run to upgrade it"
    )
    versions = sqlite3.connect(tmp_path / "state.db").execute(
        "SELECT version FROM schema_version"
    )
    assert versions.fetchall() == [(1,)]


def test_a_read_only_open_refuses_a_newer_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.hub import state as module

    url = f"sqlite:///{tmp_path}/state.db"
    monkeypatch.setattr(module, "MIGRATIONS", (*module.MIGRATIONS, lambda _: None))
    open_state(url).close()
    monkeypatch.undo()

    with pytest.raises(StateError) as refused:
        open_state(url, migrate=False)

    assert str(refused.value) == (
        f"state store {url} holds schema version 2, newer than version 1 that "
        "this reconciler reads; upgrade the reconciler (the database was left "
        "unchanged)"
    )


# --- dry runs through the runner ---------------------------------------------------


def test_a_dry_run_on_an_empty_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    world = make_world(tmp_path / "world")
    world.emulators["magento-eu"].add_product("A-1", 9)
    world.emulators["magento-uk"].add_product("A-1", 1)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "state.db").touch()
    world.state_url = f"sqlite:///{state_dir}/state.db"

    result = world.run(dry_run=True)

    assert (result.dry_run, result.run_id, result.exit_code) == (True, None, 0)
    assert [r.method for r in world.emulators["magento-uk"].requests] == ["GET"]
    assert _files(state_dir) == ["state.db"]
    assert (state_dir / "state.db").stat().st_size == 0


@pytest.fixture
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A state URL on a fresh schema of the test server, and that schema."""
    for url in _postgres_schema():
        yield url, url.rsplit("%3D", 1)[1]


@pytest.mark.postgres
def test_a_dry_run_on_a_fresh_postgres_schema_creates_no_table(
    tmp_path: Path, postgres_schema: tuple[str, str]
) -> None:
    url, schema = postgres_schema
    world = make_world(tmp_path)
    world.emulators["magento-eu"].add_product("A-1", 9)
    world.emulators["magento-uk"].add_product("A-1", 1)
    world.state_url = url

    result = world.run(dry_run=True)

    assert (result.dry_run, result.run_id, result.exit_code) == (True, None, 0)
    assert [r.method for r in world.emulators["magento-uk"].requests] == ["GET"]
    engine = sa.create_engine(_driver_url(url.split("?", 1)[0]))
    try:
        assert sa.inspect(engine).get_table_names(schema=schema) == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_read_only_postgres_store_reads_and_cannot_write(
    postgres_schema: tuple[str, str],
) -> None:
    url, _schema = postgres_schema
    with open_state(url) as made:
        made.put_hub_records([_record("A-1", 5)])

    with open_state(url, migrate=False) as state:
        found = state.hub_records()
        with state.engine.connect() as conn:
            read_only = conn.execute(sa.text("SHOW transaction_read_only")).scalar()

    assert found == {"A-1": _record("A-1", 5)}
    assert read_only == "on"

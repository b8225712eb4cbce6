"""What differs per backend: files, URLs, unreachable servers, volume, crashes."""

from __future__ import annotations

import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from reconciler.errors import StateError
from reconciler.hub.records import HubRecord
from reconciler.hub.state import SqlStateStore, open_state
from tests.hub.conftest import START

# --- SQLite files ----------------------------------------------------------------


def test_the_default_is_a_wal_file_under_dot_reconciler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    open_state().close()

    database = sqlite3.connect(tmp_path / ".reconciler" / "state.db")
    mode = database.execute("PRAGMA journal_mode").fetchone()
    tables = database.execute("SELECT name FROM sqlite_master WHERE type='table'")
    assert mode == ("wal",)
    assert sorted(name for (name,) in tables) == [
        "hub_records",
        "journal",
        "leases",
        "runs",
        "schema_version",
        "seen_values",
    ]
    database.close()


def test_a_relative_path_is_fixed_when_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_state("sqlite:///state/here.db")
    monkeypatch.chdir(tmp_path.parent)

    store.put_hub_records([HubRecord("A-1", None, True, 1, START, "feed:acme")])
    store.close()

    assert (tmp_path / "state" / "here.db").is_file()
    assert not (tmp_path.parent / "state").exists()


def test_a_folder_that_cannot_be_made_is_a_state_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")

    with pytest.raises(StateError) as refused:
        open_state(f"sqlite:///{tmp_path}/taken/state.db")

    assert str(refused.value) == (
        f"state store sqlite:///{tmp_path}/taken/state.db: cannot create folder "
        f"{tmp_path}/taken: File exists"
    )


def test_a_file_that_is_not_a_database_is_a_state_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"inventory notes, not SQLite\n" * 100)

    with pytest.raises(StateError) as refused:
        open_state(f"sqlite:///{path}")

    assert str(refused.value) == (
        f"state store sqlite:///{path}: file is not a database"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "mysql://stock:s3cret@127.0.0.1/hub",
            "state URL mysql://stock:***@127.0.0.1/hub: unsupported database "
            "'mysql'; use sqlite:///PATH or postgresql://...",
            id="unsupported-database",
        ),
        pytest.param(
            "state.db",
            "state URL is not a database URL; use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DATABASE",
            id="not-a-url",
        ),
    ],
)
def test_unusable_urls(url: str, message: str) -> None:
    with pytest.raises(StateError) as refused:
        open_state(url)

    assert str(refused.value) == message


# --- PostgreSQL servers ------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_server_is_a_state_error_without_password(
    closed_port: int,
) -> None:
    url = f"postgresql://stock:s3cret@127.0.0.1:{closed_port}/hub?connect_timeout=2"

    with pytest.raises(StateError) as refused:
        open_state(url)

    message = str(refused.value)
    assert message.startswith(
        f"state store postgresql://stock:***@127.0.0.1:{closed_port}/hub"
    )
    assert "Connection refused" in message
    assert "s3cret" not in message


# --- volume ------------------------------------------------------------------------


@contextmanager
def _statements(store: SqlStateStore) -> Iterator[list[str]]:
    """The SQL statements the store sends to its database meanwhile."""
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(args[2])

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)


def test_writes_are_batched_not_row_by_row(store: SqlStateStore) -> None:
    records = [
        HubRecord(f"SKU-{n}", None, True, n, START, "feed:acme") for n in range(10_000)
    ]
    with _statements(store) as sent:
        store.put_hub_records(records)
        store.hub_records()

    assert len(sent) <= 30, f"{len(sent)} statements for 10,000 records"


def test_a_hundred_thousand_records_read_in_under_a_second(tmp_path: Path) -> None:
    records = [
        HubRecord(f"SKU-{n:06}", "acme", n % 7 != 0, n - 50, START, "feed:acme")
        for n in range(100_000)
    ]
    with open_state(f"sqlite:///{tmp_path}/state.db") as store:
        store.put_hub_records(records)

        started = time.perf_counter()
        found = store.hub_records()
        elapsed = time.perf_counter() - started

    assert found == {record.sku: record for record in records}
    assert elapsed < 1.0, f"read took {elapsed:.2f} s"


# --- crashes -----------------------------------------------------------------------

WRITER = """
import sys
from datetime import UTC, datetime
from reconciler.hub.records import HubRecord, JournalEntry, RunKind, SeenValue
from reconciler.hub.state import open_state

store = open_state(sys.argv[1])
run_id = store.start_run(RunKind.PASS, ["magento-eu"])
now = datetime.now(UTC)
for batch in range(10_000):
    skus = [f"SKU-{n:04}" for n in range(500)]
    store.commit_pulls(
        [HubRecord(s, None, True, batch, now, "store:magento-eu") for s in skus],
        [SeenValue("magento-eu", s, True, batch, now) for s in skus],
        [JournalEntry(run_id, "magento-eu", s, "hub", "quantity_available",
                      None, str(batch), "applied", None, now) for s in skus],
    )
"""


def _snapshot(path: Path) -> tuple[set[int], set[int], int]:
    """Quantities in the hub, in the seen values, and the journal's length."""
    database = sqlite3.connect(path)
    hub = {q for (q,) in database.execute("SELECT quantity_available FROM hub_records")}
    seen = {q for (q,) in database.execute("SELECT quantity FROM seen_values")}
    (journaled,) = database.execute("SELECT count(*) FROM journal").fetchone()
    database.close()
    return hub, seen, journaled


def test_a_killed_writer_leaves_whole_transactions(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    pace = random.Random(4)

    for kill in range(5):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, f"sqlite:///{path}"])
        _wait_for_a_run(path, kill + 1)
        time.sleep(pace.uniform(0.05, 0.6))
        writer.send_signal(signal.SIGKILL)
        writer.wait()

        with open_state(f"sqlite:///{path}") as reopened:
            hub, seen, journaled = _snapshot(path)
            assert reopened.schema_version() == 1
        assert len(hub) <= 1 and hub == seen, (kill, hub, seen)
        assert journaled % 500 == 0, (kill, journaled)
    assert journaled > 0, "the writers were killed before any commit"


def _wait_for_a_run(path: Path, runs: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            database = sqlite3.connect(path)
            (found,) = database.execute("SELECT count(*) FROM runs").fetchone()
            database.close()
        except sqlite3.Error:
            found = 0
        if found >= runs:
            return
        time.sleep(0.02)
    pytest.fail(f"the writer did not start run {runs} within 30 s")


def test_timestamps_keep_microseconds(store: SqlStateStore) -> None:
    moment = START + timedelta(microseconds=123_456)

    store.put_hub_records([HubRecord("A-1", None, True, 1, moment, "feed:acme")])

    assert store.hub_records()["A-1"].changed_at == moment

"""The StateStore contract, run over SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import pytest
import sqlalchemy as sa

from reconciler.errors import LeaseLost, StateError
from reconciler.hub.records import (
    HubRecord,
    JournalEntry,
    PullCommit,
    RunKind,
    RunRecord,
    RunStatus,
    SeenValue,
)
from reconciler.hub.state import SqlStateStore, open_state
from tests.conftest import _driver_url
from tests.hub.conftest import START, StepClock

LATER = START + timedelta(minutes=5)
T = TypeVar("T")


def hub(sku: str, quantity: int, **changes: object) -> HubRecord:
    fields: dict[str, object] = {
        "sku": sku,
        "vendor": "acme",
        "manage_inventory": True,
        "quantity_available": quantity,
        "changed_at": START,
        "source": "import:stock.csv",
    }
    fields.update(changes)
    return HubRecord(**fields)  # type: ignore[arg-type]


def seen(store: str, sku: str, quantity: int | None, managed: bool = True) -> SeenValue:
    return SeenValue(store, sku, managed, quantity, START)


def entry(run_id: int, sku: str, after: str, store: str = "shopify-us") -> JournalEntry:
    return JournalEntry(
        run_id=run_id,
        store=store,
        sku=sku,
        target="channel",
        field="quantity_available",
        before="1",
        after=after,
        outcome="applied",
        message=None,
        at=START,
    )


# --- hub records ---------------------------------------------------------------


def test_a_new_store_is_empty_at_the_current_version(store: SqlStateStore) -> None:
    assert store.hub_records() == {}
    assert store.last_seen("shopify-us") == {}
    assert store.runs() == []
    assert store.schema_version() == 1


def test_hub_records_round_trip_whole(store: SqlStateStore) -> None:
    paris = timezone(timedelta(hours=1))
    records = [
        hub("A-1", 5),
        hub("A-2", -3, vendor=None, source="store:magento-eu"),
        hub("A-3", 0, manage_inventory=False, changed_at=LATER.astimezone(paris)),
    ]

    store.put_hub_records(records)

    assert store.hub_records() == {r.sku: r for r in records}
    read_back = store.hub_records()["A-3"].changed_at
    assert (read_back, read_back.tzinfo) == (LATER, UTC)


def test_put_hub_records_inserts_or_replaces(store: SqlStateStore) -> None:
    store.put_hub_records([hub("A-1", 5), hub("A-2", 7)])

    store.put_hub_records([hub("A-2", 9, source="feed:acme"), hub("A-3", 1)])

    assert store.hub_records() == {
        "A-1": hub("A-1", 5),
        "A-2": hub("A-2", 9, source="feed:acme"),
        "A-3": hub("A-3", 1),
    }


def test_a_sku_twice_in_one_batch_keeps_the_last(store: SqlStateStore) -> None:
    store.put_hub_records([hub("A-1", 5), hub("A-1", 6)])

    assert store.hub_records() == {"A-1": hub("A-1", 6)}


def test_hub_records_of_some_skus_across_query_batches(store: SqlStateStore) -> None:
    records = [hub(f"SKU-{n:05}", n) for n in range(1_200)]
    store.put_hub_records(records)
    wanted = [f"SKU-{n:05}" for n in range(0, 1_200, 2)] + ["UNKNOWN", "SKU-00000"]

    found = store.hub_records(wanted)

    assert found == {r.sku: r for r in records[::2]}


def test_a_failing_put_writes_none_of_the_batch(store: SqlStateStore) -> None:
    store.put_hub_records([hub("A-1", 5)])
    naive = datetime(2025, 3, 1, 9, 30)

    with pytest.raises(StateError, match="naive datetime"):
        store.put_hub_records([hub("A-1", 8), hub("A-2", 2, changed_at=naive)])

    assert store.hub_records() == {"A-1": hub("A-1", 5)}


# --- last seen values ----------------------------------------------------------


def test_last_seen_round_trip_per_store(store: SqlStateStore) -> None:
    values = [
        seen("shopify-us", "A-1", 4),
        seen("shopify-us", "A-2", None, managed=False),
        seen("magento-eu", "A-1", 9),
    ]

    store.record_seen(values)

    assert store.last_seen("shopify-us") == {"A-1": values[0], "A-2": values[1]}
    assert store.last_seen("magento-eu") == {"A-1": values[2]}
    assert store.last_seen("other") == {}


def test_record_seen_inserts_or_replaces(store: SqlStateStore) -> None:
    store.record_seen([seen("shopify-us", "A-1", 4), seen("shopify-us", "A-2", 2)])

    store.record_seen([seen("shopify-us", "A-2", 0), seen("shopify-us", "A-3", 1)])

    assert store.last_seen("shopify-us") == {
        "A-1": seen("shopify-us", "A-1", 4),
        "A-2": seen("shopify-us", "A-2", 0),
        "A-3": seen("shopify-us", "A-3", 1),
    }


# --- pulls ---------------------------------------------------------------------


def test_commit_pulls_writes_records_seen_values_and_journal(
    store: SqlStateStore,
) -> None:
    run_id = store.start_run(RunKind.PASS, ["magento-eu"])
    pulled = hub("A-1", 12, source="store:magento-eu")
    value = seen("magento-eu", "A-1", 12)
    change = JournalEntry(
        run_id, "magento-eu", "A-1", "hub", "quantity_available", "5", "12",
        "applied", None, START,
    )  # fmt: skip

    store.commit_pulls([pulled], [value], [change])

    assert store.hub_records() == {"A-1": pulled}
    assert store.last_seen("magento-eu") == {"A-1": value}
    assert store.journal_of(run_id) == [change]


def test_a_failing_commit_pulls_leaves_nothing(store: SqlStateStore) -> None:
    store.put_hub_records([hub("A-1", 5)])
    store.record_seen([seen("magento-eu", "A-1", 5)])

    with pytest.raises(StateError, match="state store"):
        store.commit_pulls(
            [hub("A-1", 12), hub("A-2", 3)],
            [seen("magento-eu", "A-1", 12)],
            [entry(run_id=999, sku="A-1", after="12")],  # no such run
        )

    assert store.hub_records() == {"A-1": hub("A-1", 5)}
    assert store.last_seen("magento-eu") == {"A-1": seen("magento-eu", "A-1", 5)}


def test_commit_pulls_compares_each_sku_with_the_hub_the_pass_read(
    store: SqlStateStore,
) -> None:
    """Unchanged since the read: written. Changed to the pulled value: kept,
    not journaled twice. Changed to another value: nothing of it written."""
    read = {"A-1": hub("A-1", 5), "B-2": hub("B-2", 5), "C-3": hub("C-3", 5)}
    store.put_hub_records([hub("A-1", 5), hub("B-2", 9), hub("C-3", 7, vendor="x")])
    run_id = store.start_run(RunKind.PASS, ["magento-eu"])
    pulled = [hub(sku, 9, source="store:magento-eu") for sku in ("A-1", "B-2", "C-3")]
    values = [seen("magento-eu", sku, 9) for sku in ("A-1", "B-2", "C-3")]
    entries = [entry(run_id, sku, "9", "magento-eu") for sku in ("A-1", "B-2", "C-3")]

    commit = store.commit_pulls(pulled, values, entries, read=read)

    assert commit == PullCommit(moved=frozenset({"C-3"}), already=frozenset({"B-2"}))
    assert store.hub_records() == {
        "A-1": pulled[0],
        "B-2": hub("B-2", 9),
        "C-3": hub("C-3", 7, vendor="x"),
    }
    assert store.last_seen("magento-eu") == {"A-1": values[0], "B-2": values[1]}
    assert store.journal_of(run_id) == [entries[0]]


def test_commit_pulls_of_a_sku_new_to_the_hub_compares_with_none(
    store: SqlStateStore,
) -> None:
    store.put_hub_records([hub("B-2", 4)])

    commit = store.commit_pulls(
        [hub("A-1", 3), hub("B-2", 3)], [], [], read={"A-1": None, "B-2": None}
    )

    assert commit == PullCommit(moved=frozenset({"B-2"}))
    assert store.hub_records() == {"A-1": hub("A-1", 3), "B-2": hub("B-2", 4)}


# --- runs and journal ------------------------------------------------------------


def test_a_run_from_start_to_finish(store: SqlStateStore, clock: StepClock) -> None:
    run_id = store.start_run(RunKind.IMPORT, ["shopify-us", "magento-eu"])
    running = store.run(run_id)
    clock.advance(42)

    store.finish_run(run_id, RunStatus.FAILED, {"applied": 3, "failed": ["A-9"]})

    stores = ("shopify-us", "magento-eu")
    assert running == RunRecord(
        run_id, RunKind.IMPORT, START, None, RunStatus.RUNNING, stores, {}
    )
    assert store.run(run_id) == RunRecord(
        id=run_id,
        kind=RunKind.IMPORT,
        started_at=START,
        finished_at=START + timedelta(seconds=42),
        status=RunStatus.FAILED,
        stores=stores,
        summary={"applied": 3, "failed": ["A-9"]},
    )


def test_runs_are_listed_newest_first(store: SqlStateStore, clock: StepClock) -> None:
    ids = []
    for kind in (RunKind.PASS, RunKind.IMPORT, RunKind.DAEMON):
        ids.append(store.start_run(kind, ["shopify-us"]))
        clock.advance(60)

    listed = [(run.id, run.kind) for run in store.runs(limit=2)]

    assert ids == sorted(ids)
    assert listed == [(ids[2], RunKind.DAEMON), (ids[1], RunKind.IMPORT)]
    assert [run.id for run in store.runs()] == ids[::-1]


def test_unknown_runs(store: SqlStateStore) -> None:
    assert store.run(12345) is None
    assert store.journal_of(12345) == []
    with pytest.raises(StateError, match="no run 12345 to finish"):
        store.finish_run(12345, RunStatus.SUCCEEDED, {})


def test_journal_keeps_the_order_of_writing_per_run(store: SqlStateStore) -> None:
    first = store.start_run(RunKind.PASS, ["shopify-us"])
    second = store.start_run(RunKind.PASS, ["shopify-us"])

    store.journal([entry(first, "B-2", "1"), entry(second, "A-1", "7")])
    store.journal([entry(first, "A-1", "3"), entry(first, "C-3", "0")])

    assert store.journal_of(first) == [
        entry(first, "B-2", "1"),
        entry(first, "A-1", "3"),
        entry(first, "C-3", "0"),
    ]
    assert store.journal_of(second) == [entry(second, "A-1", "7")]


def test_journal_of_an_unknown_run_is_refused_whole(store: SqlStateStore) -> None:
    run_id = store.start_run(RunKind.PASS, ["shopify-us"])

    with pytest.raises(StateError):
        store.journal([entry(run_id, "A-1", "1"), entry(run_id + 100, "A-2", "2")])

    assert store.journal_of(run_id) == []


# --- reopening and schema versions ---------------------------------------------


def test_reopening_keeps_everything(state_url: str, clock: StepClock) -> None:
    with open_state(state_url, now=clock) as first:
        first.put_hub_records([hub("A-1", 5)])
        run_id = first.start_run(RunKind.PASS, ["shopify-us"])
        first.journal([entry(run_id, "A-1", "5")])

    with open_state(state_url, now=clock) as again:
        assert again.hub_records() == {"A-1": hub("A-1", 5)}
        assert again.journal_of(run_id) == [entry(run_id, "A-1", "5")]
        assert again.schema_version() == 1
        assert _versions(again) == [1]


def _versions(store: SqlStateStore) -> list[int]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version FROM schema_version ORDER BY 1"))
        return [row[0] for row in rows]


def _execute(store: SqlStateStore, *statements: str) -> None:
    with store.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def test_a_newer_schema_is_refused_unchanged(state_url: str, clock: StepClock) -> None:
    with open_state(state_url, now=clock) as made:
        made.put_hub_records([hub("A-1", 5)])
        _execute(
            made,
            "INSERT INTO schema_version (version, applied_at) "
            "VALUES (7, '2030-01-01T00:00:00.000000+00:00')",
        )

    with pytest.raises(StateError) as refused:
        open_state(state_url, now=clock)

    assert "holds schema version 7, newer than version 1" in str(refused.value)
    assert _raw_rows(state_url, "SELECT version FROM schema_version") == [(1,), (7,)]
    assert _raw_rows(state_url, "SELECT sku FROM hub_records") == [("A-1",)]


def _raw_rows(url: str, query: str) -> list[tuple[object, ...]]:
    """Rows read without the state store (which refuses the database)."""
    engine = sa.create_engine(_driver_url(url))
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(sa.text(query + " ORDER BY 1"))]
    engine.dispose()
    return rows


def test_an_unversioned_schema_is_refused(state_url: str, clock: StepClock) -> None:
    with open_state(state_url, now=clock) as made:
        _execute(made, "DROP TABLE schema_version")

    with pytest.raises(StateError) as refused:
        open_state(state_url, now=clock)

    message = str(refused.value)
    assert "has tables hub_records, journal, leases, runs, seen_values" in message
    assert "found an unversioned schema, expected version 1" in message


def test_a_version_0_database_is_upgraded(state_url: str, clock: StepClock) -> None:
    with open_state(state_url, now=clock) as made:
        _execute(
            made,
            "DROP TABLE journal",
            "DROP TABLE runs",
            "DROP TABLE hub_records",
            "DROP TABLE seen_values",
            "DROP TABLE leases",
            "DELETE FROM schema_version",
        )

    with open_state(state_url, now=clock) as upgraded:
        upgraded.put_hub_records([hub("A-1", 5)])

        assert upgraded.schema_version() == 1
        assert upgraded.hub_records() == {"A-1": hub("A-1", 5)}


def _add_note_column(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE hub_records ADD COLUMN note TEXT"))


def _broken_step(conn: sa.Connection) -> None:
    conn.execute(sa.text("CREATE TABLE half_done (id INTEGER)"))
    conn.execute(sa.text("ALTER TABLE no_such_table ADD COLUMN x TEXT"))


def test_an_older_database_is_upgraded_by_the_next_steps(
    state_url: str, clock: StepClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.hub import state

    with open_state(state_url, now=clock) as old:
        old.put_hub_records([hub("A-1", 5)])
    steps = (*state.MIGRATIONS, _add_note_column)
    monkeypatch.setattr(state, "MIGRATIONS", steps)

    with open_state(state_url, now=clock) as upgraded:
        columns = sa.inspect(upgraded.engine).get_columns("hub_records")

        assert upgraded.schema_version() == 2
        assert _versions(upgraded) == [1, 2]
        assert "note" in [column["name"] for column in columns]
        assert upgraded.hub_records() == {"A-1": hub("A-1", 5)}


def test_a_failing_upgrade_step_changes_nothing(
    state_url: str, clock: StepClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.hub import state

    open_state(state_url, now=clock).close()
    monkeypatch.setattr(state, "MIGRATIONS", (*state.MIGRATIONS, _broken_step))

    with pytest.raises(StateError, match="no_such_table"):
        open_state(state_url, now=clock)

    monkeypatch.undo()
    with open_state(state_url, now=clock) as unchanged:
        tables = sa.inspect(unchanged.engine).get_table_names()

        assert unchanged.schema_version() == 1
        assert "half_done" not in tables


# --- leases ----------------------------------------------------------------------


def test_a_lease_is_held_by_one_holder_until_it_expires(
    store: SqlStateStore, clock: StepClock
) -> None:
    assert store.acquire_lease("shopify-us", "replica-a", ttl_s=30) is True
    assert store.acquire_lease("shopify-us", "replica-b", ttl_s=30) is False
    assert store.acquire_lease("magento-eu", "replica-b", ttl_s=30) is True
    assert store.lease_holder("shopify-us") == "replica-a"

    clock.advance(30)

    assert store.lease_holder("shopify-us") is None
    assert store.acquire_lease("shopify-us", "replica-b", ttl_s=30) is True
    assert store.lease_holder("shopify-us") == "replica-b"


def test_renewing_extends_and_a_lost_lease_says_so(
    store: SqlStateStore, clock: StepClock
) -> None:
    store.acquire_lease("shopify-us", "replica-a", ttl_s=30)
    clock.advance(20)
    store.renew_lease("shopify-us", "replica-a", ttl_s=30)
    clock.advance(20)

    assert store.acquire_lease("shopify-us", "replica-b", ttl_s=30) is False
    clock.advance(11)
    assert store.acquire_lease("shopify-us", "replica-b", ttl_s=30) is True
    with pytest.raises(LeaseLost, match="shopify-us is no longer held by replica-a"):
        store.renew_lease("shopify-us", "replica-a", ttl_s=30)


def test_releasing_hands_a_lease_over_at_once(store: SqlStateStore) -> None:
    store.acquire_lease("shopify-us", "replica-a", ttl_s=300)

    store.release_lease("shopify-us", "replica-b")  # not the holder: no effect
    held = store.lease_holder("shopify-us")
    store.release_lease("shopify-us", "replica-a")

    assert held == "replica-a"
    assert store.lease_holder("shopify-us") is None
    assert store.acquire_lease("shopify-us", "replica-b", ttl_s=300) is True


def test_a_lease_needs_a_positive_time_to_live(store: SqlStateStore) -> None:
    with pytest.raises(ValueError, match="must be positive, got 0"):
        store.acquire_lease("shopify-us", "replica-a", ttl_s=0)


# --- several replicas at once ----------------------------------------------------


def _at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(0..count-1)`` on as many threads, released together."""
    start = threading.Barrier(count)

    def released(index: int) -> T:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


def test_replicas_opening_a_new_database_at_once_migrate_it_once(
    state_url: str, clock: StepClock
) -> None:
    opened = _at_once(4, lambda _: open_state(state_url, now=clock))

    versions = [_versions(store) for store in opened]
    for store in opened:
        store.close()

    assert versions == [[1]] * 4


def test_replicas_racing_for_a_lease_get_one_winner(
    state_url: str, clock: StepClock
) -> None:
    replicas = [open_state(state_url, now=clock) for _ in range(6)]

    taken = _at_once(
        6,
        lambda n: replicas[n].acquire_lease("shopify-us", f"replica-{n}", ttl_s=30),
    )

    winner = replicas[0].lease_holder("shopify-us")
    for replica in replicas:
        replica.close()
    assert taken.count(True) == 1
    assert winner == f"replica-{taken.index(True)}"

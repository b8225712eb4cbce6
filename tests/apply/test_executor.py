"""Apply: failures stay with their store or item, and everything is journaled."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.hub import open_state
from reconciler.runner import EXIT_ERROR
from tests.apply.world import World, make_world, seed_hub


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    eu, uk = world.emulators["magento-eu"], world.emulators["magento-uk"]
    eu.add_product("A-1", 9)
    uk.add_product("A-1", 1)
    uk.add_product("B-2", 1)
    seed_hub(world.state_url, {"A-1": (True, 5), "B-2": (True, 3)})
    return world


def test_a_store_that_cannot_be_read_does_not_stop_the_others(world: World) -> None:
    world.emulators["magento-uk"].faults.server_errors = 1000

    result = world.run()

    assert result.exit_code == EXIT_ERROR
    assert [(f.store, f.stage) for f in result.failures] == [("magento-uk", "read")]
    assert world.hub() == {"A-1": (True, 9), "B-2": (True, 3)}
    assert world.stock("magento-uk") == {"A-1": 1.0, "B-2": 1.0}


def test_refused_items_are_journaled_with_the_channel_message(world: World) -> None:
    world.emulators["magento-uk"].faults.refusals["B-2"] = ("400", "B-2 is locked")

    result = world.run()

    assert result.run_id is not None
    with open_state(world.state_url) as state:
        entries = state.journal_of(result.run_id)
        run = state.run(result.run_id)
    assert [(e.store, e.sku, e.outcome, e.message) for e in entries] == [
        ("magento-eu", "A-1", "applied", None),
        ("magento-uk", "A-1", "applied", None),
        ("magento-uk", "B-2", "refused", "B-2 is locked"),
    ]
    assert run is not None and run.status.value == "failed"
    assert run.summary["failed_items"] == 1


def test_seen_values_follow_what_was_in_sync_or_written(world: World) -> None:
    """A-1 is written; B-2, refused, keeps the value of its last sync (none
    yet), so that the next pass still sees its difference as it was."""
    world.emulators["magento-uk"].faults.refusals["B-2"] = ("400", "B-2 is locked")

    world.run()

    with open_state(world.state_url) as state:
        seen = state.last_seen("magento-uk")
    assert {sku: (v.managed, v.quantity) for sku, v in seen.items()} == {
        "A-1": (True, 9),
    }


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def read_started(self, store: str) -> None:
        self.events.append(("read", store))

    def read_page(self, store: str, records_so_far: int) -> None:
        self.events.append(("page", store, str(records_so_far)))

    def read_done(self, store: str, items: int) -> None:
        self.events.append(("read done", store, str(items)))
        self.store_done(store)

    def read_failed(self, store: str) -> None:
        self.events.append(("read failed", store))
        self.store_done(store)

    def write_batch(self, store: str, done: int, total: int, applied: int) -> None:
        self.events.append(("write", store, f"{applied}+{done - applied}/{total}"))

    def store_done(self, store: str) -> None:
        self.events.append(("done", store))


def test_progress_is_reported_per_store(world: World) -> None:
    recorder = Recorder()

    world.run(progress=recorder)

    assert sorted(recorder.events) == [
        ("done", "magento-eu"),
        ("done", "magento-uk"),
        ("done", "magento-uk"),
        ("page", "magento-eu", "1"),
        ("page", "magento-uk", "2"),
        ("read", "magento-eu"),
        ("read", "magento-uk"),
        ("read done", "magento-eu", "1"),
        ("read done", "magento-uk", "2"),
        ("write", "magento-uk", "2+0/2"),
    ]


def test_progress_counts_refused_items_as_not_written(world: World) -> None:
    world.emulators["magento-uk"].faults.refusals["B-2"] = ("400", "B-2 is locked")
    recorder = Recorder()

    world.run(progress=recorder)

    writes = [event for event in recorder.events if event[0] == "write"]
    assert writes == [("write", "magento-uk", "1+1/2")]

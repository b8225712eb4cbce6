"""A pass run by hand never writes a store a running daemon is syncing: on
PostgreSQL it skips a store whose lease another holder has; on SQLite it
refuses while a daemon holds the state file's lock. Dry runs never ask."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.channels.base import ChannelAdapter
from reconciler.config.model import StoreConfig
from reconciler.daemon.leases import SoleDaemonLock
from reconciler.errors import StateError
from reconciler.hub import open_state
from reconciler.hub.leases import manual_holder, take_pass_leases
from reconciler.runner import EXIT_ERROR, EXIT_OK
from tests.apply.world import World, make_world, seed_hub
from tests.hub.conftest import _postgres_schema


@pytest.fixture
def postgres_world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path)
    for url in _postgres_schema():
        world.state_url = url
        yield world


def uk_differs_from_hub(world: World) -> None:
    world.emulators["magento-uk"].add_product("A-1", 1)
    seed_hub(world.state_url, {"A-1": (True, 5)})


@pytest.mark.postgres
def test_a_store_leased_by_a_daemon_is_skipped_and_reported(
    postgres_world: World,
) -> None:
    world = postgres_world
    uk_differs_from_hub(world)
    with open_state(world.state_url) as state:
        assert state.acquire_lease("magento-uk", "host-a:41", 60)

    result = world.run(stores=("magento-uk",))

    assert result.exit_code == EXIT_ERROR
    assert [(f.store, f.stage, f.message) for f in result.failures] == [
        (
            "magento-uk",
            "lease",
            "store magento-uk is being synced by host-a:41; try again later",
        )
    ]
    assert world.writes("magento-uk") == []
    assert world.stock("magento-uk") == {"A-1": 1}


@pytest.mark.postgres
def test_a_free_store_is_leased_for_the_pass_and_released(
    postgres_world: World,
) -> None:
    world = postgres_world
    uk_differs_from_hub(world)
    holders: list[str | None] = []
    original = world.adapter

    def watching(config: StoreConfig) -> ChannelAdapter:
        with open_state(world.state_url) as state:
            holders.append(state.lease_holder(config.name))
        return original(config)

    world.adapter = watching  # type: ignore[method-assign]

    result = world.run(stores=("magento-uk",))

    assert result.exit_code == EXIT_OK
    assert world.stock("magento-uk") == {"A-1": 5}
    assert holders[0] == manual_holder()
    assert re.fullmatch(r"cli:.+:\d+", manual_holder())
    with open_state(world.state_url) as state:
        assert state.lease_holder("magento-uk") is None


@pytest.mark.postgres
def test_a_dry_run_takes_no_lease_and_is_never_refused(
    postgres_world: World,
) -> None:
    world = postgres_world
    uk_differs_from_hub(world)
    with open_state(world.state_url) as state:
        assert state.acquire_lease("magento-uk", "host-a:41", 60)

    result = world.run(stores=("magento-uk",), dry_run=True)

    assert (result.exit_code, result.failures) == (EXIT_OK, ())
    with open_state(world.state_url) as state:
        assert state.lease_holder("magento-uk") == "host-a:41"


def test_sqlite_refuses_an_applying_pass_while_a_daemon_runs(world: World) -> None:
    uk_differs_from_hub(world)
    database = world.state_url.removeprefix("sqlite:///")
    daemon = SoleDaemonLock(database, "host-a:41", 30.0)

    try:
        with pytest.raises(StateError) as refused:
            world.run()
        dry = world.run(dry_run=True)
    finally:
        daemon.close()

    assert str(refused.value) == (
        f"a daemon is syncing the stores of the SQLite state {database} "
        f"(replica=host-a:41 pid={os.getpid()}); stop it before an "
        "applying pass, or try again later (a dry run is never refused)"
    )
    assert world.writes("magento-uk") == []
    assert (dry.exit_code, dry.plan.has_changes) == (EXIT_OK, True)


def test_sqlite_refuses_an_applying_pass_while_another_one_runs(
    world: World,
) -> None:
    uk_differs_from_hub(world)
    database = world.state_url.removeprefix("sqlite:///")
    with open_state(world.state_url) as state:
        other = take_pass_leases(state, ["magento-uk"], "cli:host-b:77")
        try:
            with pytest.raises(StateError) as refused:
                world.run()
        finally:
            other.release()

    assert str(refused.value) == (
        "another applying pass is syncing the stores of the SQLite state "
        f"{database} (manual pass cli:host-b:77); wait for it to end, or try "
        "again later (a dry run is never refused)"
    )
    assert world.writes("magento-uk") == []


def test_sqlite_applies_once_the_daemon_is_gone_and_frees_the_lock(
    world: World,
) -> None:
    uk_differs_from_hub(world)
    database = world.state_url.removeprefix("sqlite:///")
    SoleDaemonLock(database, "host-a:41", 30.0).close()

    result = world.run()
    after = SoleDaemonLock(database, "host-b:42", 30.0)
    after.close()

    assert result.exit_code == EXIT_OK
    assert world.stock("magento-uk") == {"A-1": 5}

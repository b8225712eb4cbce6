"""A stop asked between apply batches: the batch in flight is kept, the rest
waits for the next pass; daemon passes are recorded as ``daemon`` runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reconciler.channels.magento import SOURCE_BATCH
from reconciler.hub import open_state
from reconciler.hub.records import RunKind, RunStatus
from reconciler.runner import EXIT_OK, PassOptions, PassResult, run_pass
from tests.apply.world import World, make_world, seed_hub

SKU_COUNT = SOURCE_BATCH * 2 + 100  # three batches: 250, 250, 100


def outlet_world(tmp_path: Path) -> World:
    """The hub says 7 of every SKU; the outlet (hub_to_channel) shows 1."""
    world = make_world(tmp_path)
    outlet = world.emulators["magento-uk"]
    skus = [f"SKU-{n:04d}" for n in range(SKU_COUNT)]
    for sku in skus:
        outlet.add_product(sku, 1)
    seed_hub(world.state_url, dict.fromkeys(skus, (True, 7)))
    return world


def stop_after(calls: int) -> tuple[list[int], Callable[[], bool]]:
    """A ``should_stop`` that says yes from its ``calls + 1``-th question on."""
    asked = [0]

    def should_stop() -> bool:
        asked[0] += 1
        return asked[0] > calls

    return asked, should_stop


def daemon_pass(world: World, should_stop: Callable[[], bool] | None) -> PassResult:
    options = PassOptions(
        state_url=world.state_url,
        stores=("magento-uk",),
        allow_mass_change=("magento-uk",),
        kind=RunKind.DAEMON,
    )
    return run_pass(
        world.root / "config",
        options,
        adapter_factory=world.adapter,
        should_stop=should_stop,
    )


def test_a_stop_keeps_the_batch_in_flight_and_leaves_the_rest(tmp_path: Path) -> None:
    world = outlet_world(tmp_path)
    asked, should_stop = stop_after(1)

    stopped = daemon_pass(world, should_stop)

    assert stopped.exit_code == EXIT_OK
    assert (len(stopped.results), stopped.left) == (
        SOURCE_BATCH,
        SKU_COUNT - SOURCE_BATCH,
    )
    assert asked[0] == 2  # before the first batch, then before the second
    written = {s for s, q in world.stock("magento-uk").items() if q == 7}
    with open_state(world.state_url) as state:
        assert stopped.run_id is not None
        run = state.run(stopped.run_id)
        journaled = {e.sku for e in state.journal_of(stopped.run_id)}
    assert run is not None
    assert (run.kind, run.status) == (RunKind.DAEMON, RunStatus.STOPPED)
    assert run.summary["left_for_next_pass"] == SKU_COUNT - SOURCE_BATCH
    assert journaled == written
    assert len(written) == SOURCE_BATCH


def test_the_next_pass_writes_what_a_stop_left(tmp_path: Path) -> None:
    world = outlet_world(tmp_path)
    _, should_stop = stop_after(2)
    first = daemon_pass(world, should_stop)

    second = daemon_pass(world, None)

    assert len(first.results) == 2 * SOURCE_BATCH
    assert (len(second.results), second.left) == (SKU_COUNT - 2 * SOURCE_BATCH, 0)
    assert set(world.stock("magento-uk").values()) == {7.0}
    with open_state(world.state_url) as state:
        assert second.run_id is not None
        run = state.run(second.run_id)
    assert run is not None
    assert (run.kind, run.status) == (RunKind.DAEMON, RunStatus.SUCCEEDED)


def test_a_stop_before_any_batch_writes_nothing(tmp_path: Path) -> None:
    world = outlet_world(tmp_path)
    _, should_stop = stop_after(0)

    result = daemon_pass(world, should_stop)

    assert (result.results, result.left) == ((), SKU_COUNT)
    assert world.writes("magento-uk") == []
    assert set(world.stock("magento-uk").values()) == {1.0}

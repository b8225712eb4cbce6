"""Stale compare-and-set: one re-read and re-plan within the run, journaled
with the values the re-plan started from; and the run summary's counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.channels.base import Outcome
from reconciler.hub import open_state
from reconciler.runner import EXIT_ERROR, EXIT_OK
from tests.apply.world import World, make_world, seed_hub

SKU = "MH01-XS-Black"
GUARD = (
    "plan zeroes 20 (100.0%) and changes 20 (100.0%) of 20 managed SKUs on "
    "magento-uk; guard.max_zeroed is 5% in stores/magento-uk.yaml:11 (a store of "
    "20 managed SKUs trips from 4) and guard.max_changed is 50% in "
    "stores/magento-uk.yaml:12; raise them, or pass --allow-mass-change "
    "magento-uk to one run"
)


@pytest.fixture
def world(tmp_path: Path) -> World:
    """magento-eu is master, magento-uk takes the hub's values; both empty."""
    return make_world(tmp_path)


def journal_of(world: World, run_id: int | None) -> list[tuple[object, ...]]:
    assert run_id is not None
    with open_state(world.state_url) as state:
        return [
            (e.store, e.sku, e.before, e.after, e.outcome, e.message)
            for e in state.journal_of(run_id)
        ]


def test_a_sale_that_lands_on_the_wanted_value_is_left_as_it_is(
    world: World,
) -> None:
    shop = world.add_shopify("shopify-us", "hub_to_channel")
    shop.add_variant(SKU, quantity=62)
    seed_hub(world.state_url, {SKU: (True, 60)})
    shop.faults.concurrent_sales = {SKU: 2}

    result = world.run(stores=("shopify-us",))

    reason = "the re-read found the wanted values already there; nothing written"
    assert [
        (r.change.sku, r.outcome, r.message, r.planned) for r in result.results
    ] == [(SKU, Outcome.STALE, reason, None)]
    assert result.exit_code == EXIT_OK
    assert shop.quantity(SKU) == 60
    assert journal_of(world, result.run_id) == [
        ("shopify-us", SKU, "62", "60", "stale", reason)
    ]
    assert not world.run(stores=("shopify-us",), dry_run=True).plan.has_changes


def test_run_summary_counts_pushes_a_guard_stopped_as_not_attempted(
    world: World,
) -> None:
    skus = world.add_products("magento-uk", "Z", 20, 5)
    seed_hub(world.state_url, dict.fromkeys(skus, (True, 0)))

    result = world.run(stores=("magento-uk",))

    assert result.exit_code == EXIT_ERROR
    assert result.run_id is not None
    with open_state(world.state_url) as state:
        run = state.run(result.run_id)
    assert run is not None
    assert run.summary == {
        "stores": {
            "magento-eu": {"outcome": "ok", "error": None, "unresolved": 0},
            "magento-uk": {"outcome": "guard", "error": GUARD, "unresolved": 20},
        },  # magento-uk, and magento-eu read as its master store
        "held": 0,
        "skipped": 20,  # not on the master store magento-eu
        "conflicts": 0,
        "guards_tripped": 1,
        "pulls_planned": 0,
        "pulls_applied": 0,
        "pulls_not_attempted": 0,
        "pushes_planned": 20,
        "pushes_applied": 0,
        "pushes_not_attempted": 20,
        "failed_items": 0,
        "failed_stores": 1,
    }


def test_run_summary_counts_refused_pushes_apart_from_applied(world: World) -> None:
    eu, uk = world.emulators["magento-eu"], world.emulators["magento-uk"]
    eu.add_product("A-1", 9)
    uk.add_product("A-1", 1)
    uk.add_product("B-2", 0)
    seed_hub(world.state_url, {"A-1": (True, 5), "B-2": (True, 4)})
    uk.faults.refusals["B-2"] = ("400", "B-2 is locked")

    result = world.run()

    assert result.run_id is not None
    with open_state(world.state_url) as state:
        run = state.run(result.run_id)
    assert run is not None
    counts = {k: v for k, v in run.summary.items() if k.startswith(("pulls", "pushes"))}
    assert counts == {
        "pulls_planned": 1,
        "pulls_applied": 1,
        "pulls_not_attempted": 0,
        "pushes_planned": 2,
        "pushes_applied": 1,
        "pushes_refused": 1,
        "pushes_not_attempted": 0,
    }

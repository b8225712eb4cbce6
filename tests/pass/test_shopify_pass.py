"""Passes feeding a Shopify shop: compare-and-set and tracking on the real API."""

from __future__ import annotations

from reconciler.channels.base import Outcome
from reconciler.plan.model import Label
from reconciler.runner import EXIT_OK
from tests.apply.world import World, seed_hub


def shop_world(world: World) -> None:
    world.emulators["magento-eu"].add_product("A-1", 9)
    shop = world.add_shopify("magento-uk", "hub_to_channel")
    shop.add_variant("A-1", quantity=3)
    shop.add_variant("B-2", quantity=0, tracked=False)
    seed_hub(world.state_url, {"A-1": (True, 5), "B-2": (True, 4)})


def test_master_store_reaches_the_shop_and_tracks_untracked_items(
    world: World,
) -> None:
    shop_world(world)

    result = world.run()

    shop = world.emulators["magento-uk"]
    assert result.exit_code == EXIT_OK, result.failures
    assert (shop.quantity("A-1"), shop.tracked("A-1")) == (9, True)
    assert (shop.quantity("B-2"), shop.tracked("B-2")) == (4, True)
    labels = {c.sku: c.label for s in result.plan.stores for c in s.pushes}
    assert labels == {"A-1": Label.NEW, "B-2": Label.UNTRACKED}
    assert not world.run(dry_run=True).plan.has_changes


def test_sale_between_read_and_write_is_caught_by_compare_and_set(
    world: World,
) -> None:
    shop_world(world)
    shop = world.emulators["magento-uk"]
    shop.faults.concurrent_sales["A-1"] = 2

    result = world.run()

    a1 = [
        r
        for r in result.results
        if r.change.sku == "A-1" and r.change.store == "magento-uk"
    ]
    assert [(r.outcome, r.change.expected_quantity) for r in a1] == [
        (Outcome.APPLIED, 1)
    ]
    assert shop.quantity("A-1") == 9
    assert not world.run(dry_run=True).plan.has_changes

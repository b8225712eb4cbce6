"""A sale between read and write: the report agrees with the journal.

The hub is master of a Shopify shop; a concurrent sale lands just before the
write of one SKU. The write planned from the first read is refused by the
compare-and-set, the item is re-read, re-planned from the re-read value and
written; every report shows that re-plan, as the journal does.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from reconciler.hub import open_state
from reconciler.report import render_result
from reconciler.report.jsonreport import load_schema
from reconciler.runner import EXIT_OK, PassResult
from reconciler.sandbox.shopify import ShopifyEmulator
from tests.apply.world import World, seed_hub, write_store

SKU = "MH01-XS-Black"
STORE = "shopify-us"
NOTE = "re-planned after a concurrent change: 61 -> 59 on the channel"


def sold_during_the_write(world: World) -> tuple[ShopifyEmulator, PassResult]:
    # The hub is master: magento-eu, master in the usual world, is not here.
    write_store(world.root, "magento-eu", "none")
    shop = world.add_shopify(STORE, "hub_to_channel")
    shop.add_variant(SKU, quantity=61)
    seed_hub(world.state_url, {SKU: (True, 62)})
    shop.faults.concurrent_sales = {SKU: 2}

    return shop, world.run(stores=(STORE,))


def compare_quantities(shop: ShopifyEmulator) -> list[list[Any]]:
    """The (quantity, compareQuantity) pairs of every write the shop received."""
    writes = [
        r.body["variables"]["input"]["quantities"]
        for r in shop.requests
        if r.body and "inventorySetQuantities" in r.body.get("query", "")
    ]
    return [[[q["quantity"], q["compareQuantity"]] for q in w] for w in writes]


def test_the_stale_write_is_refused_and_the_re_plan_starts_from_the_re_read(
    world: World,
) -> None:
    shop, result = sold_during_the_write(world)

    assert result.exit_code == EXIT_OK
    assert compare_quantities(shop) == [[[62, 61]], [[62, 59]]]
    assert shop.quantity(SKU) == 62
    assert result.run_id is not None
    with open_state(world.state_url) as state:
        entries = state.journal_of(result.run_id)
        run = state.run(result.run_id)
    assert [(e.sku, e.field, e.before, e.after, e.outcome) for e in entries] == [
        (SKU, "quantity_available", "59", "62", "applied")
    ]
    assert run is not None
    assert {k: v for k, v in run.summary.items() if k.startswith("pushes_")} == {
        "pushes_applied": 1,
        "pushes_not_attempted": 0,
        "pushes_planned": 1,
        "pushes_replanned": 1,
    }


def test_json_report_shows_the_change_as_journaled_and_its_first_plan(
    world: World,
) -> None:
    _, result = sold_during_the_write(world)

    document = json.loads(render_result(result, "json"))

    jsonschema.validate(document, load_schema())
    (store,) = document["stores"]
    assert store["pushes"] == [
        {
            "sku": SKU,
            "target": "channel",
            "label": "new",
            "fields": [{"field": "quantity_available", "before": 59, "after": 62}],
            "managed": True,
            "quantity": 62,
            "expected_managed": True,
            "expected_quantity": 59,
            "ref": store["pushes"][0]["ref"],
            "note": None,
            "outcome": {
                "outcome": "applied",
                "code": None,
                "message": None,
                "quantity_after": None,
            },
            "replanned_from": {
                "fields": [{"field": "quantity_available", "before": 61, "after": 62}],
                "expected_managed": True,
                "expected_quantity": 61,
                "note": NOTE,
            },
        }
    ]
    assert document["summary"]["outcomes"] == {
        "applied": 1,
        "stale": 0,
        "refused": 0,
        "deferred": 0,
        "failed": 0,
        "not_attempted": 0,
        "replanned": 1,
    }


def test_text_report_shows_the_re_plan_and_counts_it(world: World) -> None:
    _, result = sold_during_the_write(world)

    lines = render_result(result, "text").splitlines()

    assert lines[2:] == [
        f"{STORE} (default hub_to_channel; this plan: 1 push)",
        f"  {STORE} <- hub  {SKU}  quantity_available 59 -> 62  [new]"
        f"  => applied ({NOTE})",
        "",
        "Applied: 0 pulled into the hub, 1 pushed to stores, 0 stale,"
        " 1 re-planned after a concurrent change, 0 refused, 0 deferred,"
        " 0 failed, 0 held, 0 conflicts, 0 skipped.",
    ]


def test_next_pass_after_the_re_plan_has_nothing_to_do(world: World) -> None:
    sold_during_the_write(world)

    second = world.run(stores=(STORE,), dry_run=True)

    assert not second.plan.has_changes

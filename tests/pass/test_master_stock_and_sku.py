"""Whole passes against the in-process emulators: a store's master store read
(or not) before anything is pushed to it, Magento's in-stock flag corrected,
and ``--sku`` resolved to the hub's spelling.

``shop`` (Shopify) is master of every SKU; ``mag`` (Magento) takes the hub's
values.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.channels.base import Outcome
from reconciler.errors import SelectionError
from reconciler.hub import open_state
from reconciler.plan.model import (
    IS_IN_STOCK,
    FieldChange,
    Label,
    Skipped,
    SkipReason,
)
from reconciler.report import render_result
from reconciler.runner import EXIT_ERROR, EXIT_OK
from reconciler.sandbox.magento import MagentoEmulator
from reconciler.sandbox.shopify import ShopifyEmulator
from tests.apply.world import World, seed_hub, write_store

RETRIES_EXHAUSTED = 100


@pytest.fixture
def world(tmp_path: Path) -> World:
    (tmp_path / "config" / "vendors").mkdir(parents=True)
    write_store(tmp_path, "mag", "hub_to_channel")
    built = World(tmp_path, f"sqlite:///{tmp_path / '.reconciler' / 'state.db'}")
    built.add_shopify("shop", "channel_to_hub")
    built.emulators["mag"] = MagentoEmulator("mag", clock=built.clock)
    return built


def shop(world: World) -> ShopifyEmulator:
    emulator: ShopifyEmulator = world.emulators["shop"]
    return emulator


def mag(world: World) -> MagentoEmulator:
    emulator: MagentoEmulator = world.emulators["mag"]
    return emulator


def import_placeholder(world: World) -> None:
    """The hub holds 0 for SKU-B, an import's value the master replaces; shop
    and mag both hold 5."""
    shop(world).add_variant("SKU-B", quantity=5)
    mag(world).add_product("SKU-B", 5)
    seed_hub(world.state_url, {"SKU-B": (True, 0)})


# --- the master store is read before the stores it feeds ---------------------


def test_one_store_pass_reads_its_master_and_pushes_no_stale_zero(
    world: World,
) -> None:
    import_placeholder(world)

    dry = world.run(stores=("mag",), dry_run=True)

    assert [(s.store, len(s.pulls), len(s.pushes)) for s in dry.plan.stores] == [
        ("mag", 0, 0),
        ("shop", 1, 0),
    ]

    applied = world.run(stores=("mag",))

    assert applied.exit_code == EXIT_OK, applied.failures
    assert world.hub() == {"SKU-B": (True, 5)}
    assert mag(world).quantity("SKU-B") == 5
    assert world.writes("mag") == []
    assert not world.run(stores=("mag",), dry_run=True).plan.has_changes


def test_failed_master_read_pushes_nothing_and_says_why(world: World) -> None:
    import_placeholder(world)
    shop(world).faults.server_errors = RETRIES_EXHAUSTED

    result = world.run()

    assert result.exit_code == EXIT_ERROR
    assert [(f.store, f.stage) for f in result.failures] == [("shop", "read")]
    mag_plan = result.plan.store("mag")
    assert mag_plan is not None
    assert (mag_plan.pushes, mag_plan.skipped) == (
        (),
        (
            Skipped(
                "mag",
                "SKU-B",
                SkipReason.MASTER_NOT_READ,
                "master store shop was not read: read failed",
            ),
        ),
    )
    assert world.writes("mag") == []
    assert mag(world).quantity("SKU-B") == 5
    assert world.hub() == {"SKU-B": (True, 0)}
    text = render_result(result, "text")
    assert "skipped 1 (master_not_read): SKU-B" in text


# --- Magento's in-stock flag ---------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "flag"),
    [
        pytest.param(5, False, id="qty-5-marked-out-of-stock"),
        pytest.param(0, True, id="qty-0-marked-in-stock"),
    ],
)
def test_wrong_in_stock_flag_is_written_and_journaled(
    world: World, quantity: int, flag: bool
) -> None:
    shop(world).add_variant("SKU-1", quantity=quantity)
    mag(world).add_product("SKU-1", quantity, is_in_stock=flag)
    seed_hub(world.state_url, {"SKU-1": (True, quantity)})

    result = world.run()

    assert result.exit_code == EXIT_OK, result.failures
    assert [
        (r.change.store, r.change.label, r.change.fields, r.outcome)
        for r in result.results
    ] == [
        ("mag", Label.NEW, (FieldChange(IS_IN_STOCK, flag, not flag),), Outcome.APPLIED)
    ]
    assert mag(world).items["sku-1"].is_in_stock is not flag
    assert mag(world).quantity("SKU-1") == quantity
    assert result.run_id is not None
    with open_state(world.state_url) as state:
        entries = state.journal_of(result.run_id)
    assert [(e.store, e.sku, e.field, e.before, e.after) for e in entries] == [
        ("mag", "SKU-1", IS_IN_STOCK, str(flag).lower(), str(not flag).lower())
    ]
    assert not world.run(dry_run=True).plan.has_changes


# --- --sku in the hub's spelling ----------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("sku-021", id="lower-case"),
        pytest.param(" SKU-021", id="leading-space"),
        pytest.param("Sku-021 ", id="mixed-case-trailing-space"),
    ],
)
def test_sku_option_takes_the_hubs_spelling(world: World, given: str) -> None:
    shop(world).add_variant("SKU-021", quantity=7)
    mag(world).add_product("SKU-021", 3)
    seed_hub(world.state_url, {"SKU-021": (True, 7), "SKU-022": (True, 1)})

    result = world.run(skus=(given,), dry_run=True)

    mag_plan = result.plan.store("mag")
    assert mag_plan is not None
    assert [(c.sku, c.quantity) for c in mag_plan.pushes] == [("SKU-021", 7)]
    assert mag_plan.skipped == ()
    assert result.unknown_skus == ()


def test_sku_option_matching_two_hub_skus_names_both(world: World) -> None:
    seed_hub(world.state_url, {"SKU-021": (True, 7), "sku-021": (True, 1)})

    with pytest.raises(SelectionError) as raised:
        world.run(skus=("Sku-021",), dry_run=True)

    assert str(raised.value) == (
        "--sku 'Sku-021' matches 'SKU-021' and 'sku-021' in the hub; give the SKU "
        "as the hub spells it"
    )


def test_sku_option_unknown_to_the_hub_stays_as_given(world: World) -> None:
    seed_hub(world.state_url, {"SKU-021": (True, 7)})

    result = world.run(skus=("NOPE-1",), dry_run=True)

    assert result.unknown_skus == ("NOPE-1",)
    assert not result.plan.has_changes

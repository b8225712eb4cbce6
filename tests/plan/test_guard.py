"""The guard: per-store shares of zeroed and changed managed SKUs."""

from __future__ import annotations

import pytest

from reconciler.config.model import Direction, Guard, Mark
from reconciler.plan.guard import (
    MIN_CHANGES_TO_TRIP,
    guard_plan,
    judge_store,
    trip_floor,
)
from reconciler.plan.model import (
    QUANTITY_AVAILABLE,
    Change,
    FieldChange,
    GuardVerdict,
    Label,
    Plan,
    Side,
    StorePlan,
)
from tests.plan.builders import AT, store

US = store("shopify-us", Direction.HUB_TO_CHANNEL)


def change(sku: str, before: int, after: int) -> Change:
    return Change(
        store="shopify-us",
        sku=sku,
        target=Side.CHANNEL,
        label=Label.UPDATE,
        fields=(FieldChange(QUANTITY_AVAILABLE, before, after),),
        managed=True,
        quantity=after,
        ref=sku,
        expected_managed=True,
        expected_quantity=before,
    )


def store_plan(zeroing: int, raising: int, managed: int) -> StorePlan:
    pushes = [change(f"Z-{n}", 5, 0) for n in range(zeroing)]
    pushes += [change(f"R-{n}", 5, 6) for n in range(raising)]
    return StorePlan(
        "shopify-us", "hub_to_channel", pushes=tuple(pushes), managed_count=managed
    )


def test_zeroing_most_of_a_store_trips_with_numbers_and_setting() -> None:
    verdict = judge_store(store_plan(812, 0, 1000), US, allow=False)

    assert verdict == GuardVerdict(
        store="shopify-us",
        managed=1000,
        zeroed=812,
        changed=812,
        max_zeroed=0.05,
        max_changed=0.5,
        tripped=True,
        message=(
            "plan zeroes 812 (81.2%) and changes 812 (81.2%) of 1,000 managed "
            "SKUs on shopify-us; guard.max_zeroed is 5% by default and "
            "guard.max_changed is 50% by default; set them in "
            "stores/shopify-us.yaml, or pass --allow-mass-change shopify-us to one run"
        ),
    )
    assert verdict.blocks


@pytest.mark.parametrize(
    ("zeroing", "raising", "managed", "tripped"),
    [
        pytest.param(50, 0, 1000, False, id="zeroed-at-limit"),
        pytest.param(51, 0, 1000, True, id="zeroed-over-limit"),
        pytest.param(0, 500, 1000, False, id="changed-at-limit"),
        pytest.param(0, 501, 1000, True, id="changed-over-limit"),
        pytest.param(0, 0, 0, False, id="empty-store"),
    ],
)
def test_guard_limits(zeroing: int, raising: int, managed: int, tripped: bool) -> None:
    verdict = judge_store(store_plan(zeroing, raising, managed), US, allow=False)

    assert verdict.tripped is tripped
    assert verdict.blocks is tripped


def test_changed_share_names_max_changed() -> None:
    verdict = judge_store(store_plan(0, 600, 1000), US, allow=False)

    assert verdict.message == (
        "plan changes 600 of 1,000 managed SKUs (60.0%) on shopify-us; "
        "guard.max_changed is 50% by default; set it in stores/shopify-us.yaml, "
        "or pass --allow-mass-change shopify-us to one run"
    )


def test_allow_mass_change_overrides_one_store_only() -> None:
    eu = store("magento-eu", Direction.HUB_TO_CHANNEL, guard=Guard(0.5, 0.9))
    eu_plan = StorePlan("magento-eu", "hub_to_channel", managed_count=100)
    plan = Plan((store_plan(900, 0, 1000), eu_plan), (), AT)

    guarded = guard_plan(plan, {"shopify-us": US, "magento-eu": eu}, {"shopify-us"})

    us_verdict, eu_verdict = (s.guard for s in guarded.stores)
    assert us_verdict is not None and us_verdict.tripped and us_verdict.allowed
    assert not us_verdict.blocks
    assert eu_verdict == GuardVerdict("magento-eu", 100, 0, 0, 0.5, 0.9, False)
    assert guarded.summary()["guards_tripped"] == 0


@pytest.mark.parametrize(
    ("managed", "floor"),
    [
        pytest.param(0, 1, id="no-managed-sku"),
        pytest.param(1, 1, id="1-sku"),
        pytest.param(5, 1, id="5-skus"),
        pytest.param(6, 2, id="6-skus"),
        pytest.param(10, 2, id="10-skus"),
        pytest.param(30, 6, id="30-skus"),
        pytest.param(45, 9, id="45-skus"),
        pytest.param(46, MIN_CHANGES_TO_TRIP, id="46-skus"),
        pytest.param(1000, MIN_CHANGES_TO_TRIP, id="1000-skus"),
    ],
)
def test_trip_floor_scales_with_the_store(managed: int, floor: int) -> None:
    assert trip_floor(managed) == floor


@pytest.mark.parametrize(
    ("zeroing", "raising", "managed", "tripped"),
    [
        pytest.param(1, 0, 1, True, id="1-sku-zeroed-whole"),
        pytest.param(0, 1, 1, False, id="1-sku-changed-whole-below-change-floor"),
        pytest.param(1, 0, 5, True, id="5-skus-one-zeroed-is-20pct"),
        pytest.param(0, 2, 5, False, id="5-skus-two-changed-is-40pct"),
        pytest.param(5, 0, 5, True, id="5-skus-zeroed-whole"),
        pytest.param(1, 0, 10, False, id="10-skus-one-zeroed-below-floor"),
        pytest.param(2, 0, 10, True, id="10-skus-two-zeroed"),
        pytest.param(9, 0, 9, True, id="9-skus-zeroed-whole"),
        pytest.param(5, 0, 30, False, id="30-skus-five-zeroed-below-floor"),
        pytest.param(6, 0, 30, True, id="30-skus-six-zeroed-is-20pct"),
        pytest.param(9, 0, 30, True, id="30-skus-nine-zeroed-is-30pct"),
        pytest.param(9, 0, 1000, False, id="1000-skus-nine-zeroed-below-floor"),
        pytest.param(10, 0, 100, True, id="100-skus-ten-zeroed-is-10pct"),
        pytest.param(50, 0, 1000, False, id="1000-skus-zeroed-at-limit"),
    ],
)
def test_guard_floor_by_store_size(
    zeroing: int, raising: int, managed: int, tripped: bool
) -> None:
    verdict = judge_store(store_plan(zeroing, raising, managed), US, allow=False)

    assert (verdict.zeroed, verdict.changed, verdict.tripped) == (
        zeroing,
        zeroing + raising,
        tripped,
    )


def test_small_store_message_names_its_floor() -> None:
    verdict = judge_store(store_plan(9, 0, 30), US, allow=False)

    assert verdict.message == (
        "plan zeroes 9 of 30 managed SKUs (30.0%) on shopify-us; "
        "guard.max_zeroed is 5% by default (a store of 30 managed SKUs trips "
        "from 6); set it in stores/shopify-us.yaml, or pass --allow-mass-change "
        "shopify-us to one run"
    )


EU_MASTER = store(
    "magento-eu",
    Direction.CHANNEL_TO_HUB,
    guard=Guard(
        0.05,
        0.5,
        zeroed_mark=Mark("stores/magento-eu.yaml", 14, 15),
        changed_mark=Mark("stores/magento-eu.yaml", 15, 16),
    ),
)


def pull(sku: str, before: int, after: int) -> Change:
    """The hub taking ``after`` from the master store magento-eu."""
    return change(sku, before, after)._replace(store="magento-eu", target=Side.HUB)


def test_a_master_store_zeroing_the_hub_trips_its_guard() -> None:
    pulls = [pull(f"Z-{n}", 5, 0) for n in range(12)] + [pull("R-1", 5, 6)]
    plan = StorePlan(
        "magento-eu", "channel_to_hub", pulls=tuple(pulls), managed_count=40
    )

    verdict = judge_store(plan, EU_MASTER, allow=False)

    assert (verdict.zeroed, verdict.changed, verdict.blocks) == (12, 13, True)
    assert verdict.message == (
        "plan zeroes 12 of 40 managed SKUs (30.0%) on magento-eu; "
        "guard.max_zeroed is 5% in stores/magento-eu.yaml:14 (a store of 40 managed "
        "SKUs trips from 8); 12 of them the hub would take from magento-eu; raise "
        "it, or pass --allow-mass-change magento-eu to one run"
    )


def test_pulls_and_pushes_of_one_store_count_together() -> None:
    pulls = tuple(pull(f"P-{n}", 5, 6) for n in range(300))
    pushes = tuple(change(f"Q-{n}", 5, 6) for n in range(250))
    plan = StorePlan(
        "magento-eu", "channel_to_hub", pulls=pulls, pushes=pushes, managed_count=1000
    )

    verdict = judge_store(plan, EU_MASTER, allow=False)

    assert verdict.changed == 550
    assert verdict.message is not None
    assert verdict.message.startswith(
        "plan changes 550 of 1,000 managed SKUs (55.0%) on magento-eu; "
        "guard.max_changed is 50% in stores/magento-eu.yaml:15; 300 of them the hub "
        "would take from magento-eu"
    )

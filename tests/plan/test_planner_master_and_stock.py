"""The planner's rules for an unread master store and Magento's in-stock flag:
whole plans asserted for small inputs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from reconciler.channels.base import ChannelItem
from reconciler.config.model import Direction
from reconciler.hub.records import HubRecord, SeenValue
from reconciler.plan.model import (
    IS_IN_STOCK,
    QUANTITY_AVAILABLE,
    Change,
    FieldChange,
    Label,
    Plan,
    Side,
    Skipped,
    SkipReason,
    StorePlan,
)
from reconciler.plan.planner import make_plan, replan_change
from reconciler.policy import Policy
from tests.plan.builders import AT, hub, item, repository, seen, snapshot, store

H2C = Direction.HUB_TO_CHANNEL
C2H = Direction.CHANNEL_TO_HUB
SHOP_UNREAD = "master store shop was not read: read failed"


def flagged(
    sku: str, quantity: int, in_stock: bool, managed: bool = True
) -> ChannelItem:
    """A Magento item: it carries the in-stock flag the store shows."""
    return ChannelItem(sku, sku, managed, quantity, in_stock)


def stock_push(
    sku: str,
    label: Label,
    fields: tuple[FieldChange, ...],
    current: ChannelItem,
    quantity: int,
) -> Change:
    return Change(
        store="mag",
        sku=sku,
        target=Side.CHANNEL,
        label=label,
        fields=fields,
        managed=True,
        quantity=quantity,
        ref=current.ref,
        expected_managed=current.managed,
        expected_quantity=current.quantity,
    )


def stock(before: bool, after: bool) -> FieldChange:
    return FieldChange(IS_IN_STOCK, before, after)


def qty(before: int, after: int) -> FieldChange:
    return FieldChange(QUANTITY_AVAILABLE, before, after)


# --- the master store was not read --------------------------------------------


def _shop_and_mag() -> Policy:
    return Policy(repository(store("shop", C2H), store("mag", H2C, magento=True)))


def test_unread_master_pushes_nothing_and_says_why() -> None:
    """The hub's 0 for SKU-B (an import's placeholder) is not pushed to mag
    while shop, SKU-B's master, was not read; SKU-A, in sync, is not listed."""
    hub_records = hub(("SKU-A", True, 4), ("SKU-B", True, 0))
    mag = snapshot("mag", item("SKU-A", True, 4), item("SKU-B", True, 5), casefold=True)

    plan = make_plan(
        _shop_and_mag(),
        hub_records,
        {"mag": mag},
        {},
        now=AT,
        unread={"shop": "read failed"},
    )

    skipped = Skipped("mag", "SKU-B", SkipReason.MASTER_NOT_READ, SHOP_UNREAD)
    expected = StorePlan("mag", "hub_to_channel", skipped=(skipped,), managed_count=2)
    assert plan == Plan((expected,), (), AT)


def test_unread_master_without_a_reason_is_not_read_in_this_pass() -> None:
    plan = make_plan(
        _shop_and_mag(),
        hub(("SKU-B", True, 0)),
        {"mag": snapshot("mag", item("SKU-B", True, 5), casefold=True)},
        {},
        now=AT,
    )

    detail = "master store shop was not read: not read in this pass"
    skipped = Skipped("mag", "SKU-B", SkipReason.MASTER_NOT_READ, detail)
    expected = StorePlan("mag", "hub_to_channel", skipped=(skipped,), managed_count=1)
    assert plan == Plan((expected,), (), AT)


def test_read_master_feeds_its_value_to_the_store_in_the_same_pass() -> None:
    """With shop read, SKU-B's master value (5) reaches the hub and mag already
    holds it: a pull, and no push of the hub's old 0."""
    shop_item = item("SKU-B", True, 5)
    snapshots = {
        "shop": snapshot("shop", shop_item),
        "mag": snapshot("mag", item("SKU-B", True, 5), casefold=True),
    }

    plan = make_plan(_shop_and_mag(), hub(("SKU-B", True, 0)), snapshots, {}, now=AT)

    pull = Change(
        store="shop",
        sku="SKU-B",
        target=Side.HUB,
        label=Label.NEW,
        fields=(qty(0, 5),),
        managed=True,
        quantity=5,
        ref=shop_item.ref,
        expected_managed=True,
        expected_quantity=5,
    )
    assert plan == Plan(
        (
            StorePlan("mag", "hub_to_channel", managed_count=1),
            StorePlan("shop", "channel_to_hub", pulls=(pull,), managed_count=1),
        ),
        (),
        AT,
    )


def test_hub_master_sku_is_pushed_without_any_master_store() -> None:
    """No store is master: the hub is, and its values are pushed as before."""
    current = item("SKU-B", True, 5)
    plan = make_plan(
        Policy(repository(store("mag", H2C, magento=True))),
        hub(("SKU-B", True, 0)),
        {"mag": snapshot("mag", current, casefold=True)},
        {},
        now=AT,
    )

    push = stock_push("SKU-B", Label.NEW, (qty(5, 0),), current, 0)
    assert plan.stores == (
        StorePlan("mag", "hub_to_channel", pushes=(push,), managed_count=1),
    )


# --- Magento's in-stock flag ---------------------------------------------------


@dataclass
class StockCase:
    hub_quantity: int
    current: ChannelItem
    fields: tuple[FieldChange, ...]
    label: Label = Label.DRIFT
    seen: dict[str, SeenValue] = field(default_factory=dict)


STOCK_CASES = {
    "qty-5-marked-out-of-stock": StockCase(
        5,
        flagged("SKU-1", 5, False),
        (stock(False, True),),
        seen=seen("mag", ("SKU-1", True, 5)),
    ),
    "qty-0-marked-in-stock": StockCase(
        0,
        flagged("SKU-1", 0, True),
        (stock(True, False),),
        seen=seen("mag", ("SKU-1", True, 0)),
    ),
    "flag-alone-first-sync-is-new": StockCase(
        5, flagged("SKU-1", 5, False), (stock(False, True),), Label.NEW
    ),
    "quantity-and-flag-both-move": StockCase(
        0,
        flagged("SKU-1", 3, True),
        (qty(3, 0), stock(True, False)),
        Label.UPDATE,
        seen("mag", ("SKU-1", True, 3)),
    ),
    "flag-right-after-the-quantity-moves-is-not-a-field": StockCase(
        4,
        flagged("SKU-1", 2, True),
        (qty(2, 4),),
        Label.DRIFT,
        seen("mag", ("SKU-1", True, 7)),
    ),
}


@pytest.mark.parametrize("case", STOCK_CASES.values(), ids=STOCK_CASES.keys())
def test_in_stock_flag_follows_quantity_on_a_store_the_hub_feeds(
    case: StockCase,
) -> None:
    policy = Policy(repository(store("mag", H2C, magento=True)))
    mag = snapshot("mag", case.current, casefold=True)

    plan = make_plan(
        policy,
        hub(("SKU-1", True, case.hub_quantity)),
        {"mag": mag},
        {"mag": case.seen},
    )

    push = stock_push("SKU-1", case.label, case.fields, case.current, case.hub_quantity)
    assert plan.stores == (
        StorePlan("mag", "hub_to_channel", pushes=(push,), managed_count=1),
    )


def test_right_flags_plan_nothing() -> None:
    items = (
        flagged("SKU-1", 5, True),
        flagged("SKU-2", 0, False),
        flagged("SKU-3", 0, True, managed=False),
    )
    records: dict[str, HubRecord] = hub(
        ("SKU-1", True, 5), ("SKU-2", True, 0), ("SKU-3", False, 0)
    )

    plan = make_plan(
        Policy(repository(store("mag", H2C, magento=True))),
        records,
        {"mag": snapshot("mag", *items, casefold=True)},
        {},
        now=AT,
    )

    assert plan == Plan((StorePlan("mag", "hub_to_channel", managed_count=2),), (), AT)


def test_master_store_flag_is_left_alone() -> None:
    """A Magento master store's flag has no hub field to go to: no change."""
    plan = make_plan(
        Policy(repository(store("mag", C2H, magento=True))),
        hub(("SKU-1", True, 5)),
        {"mag": snapshot("mag", flagged("SKU-1", 5, False), casefold=True)},
        {},
        now=AT,
    )

    assert plan == Plan((StorePlan("mag", "channel_to_hub", managed_count=1),), (), AT)


def test_pulled_value_pushes_the_flag_it_implies() -> None:
    """shop's new quantity (0) is pulled, and mag, already at 0 but marked in
    stock, gets its flag corrected in the same pass."""
    policy = _shop_and_mag()
    current = flagged("SKU-1", 0, True)
    snapshots = {
        "shop": snapshot("shop", item("SKU-1", True, 0)),
        "mag": snapshot("mag", current, casefold=True),
    }

    plan = make_plan(policy, hub(("SKU-1", True, 4)), snapshots, {}, now=AT)

    mag = plan.store("mag")
    assert mag is not None
    push = stock_push("SKU-1", Label.NEW, (stock(True, False),), current, 0)
    assert mag.pushes == (push,)


def test_stale_push_replanned_against_a_wrong_flag_keeps_the_flag() -> None:
    planned = stock_push(
        "SKU-1", Label.DRIFT, (qty(2, 5),), flagged("SKU-1", 2, True), 5
    )
    fresh = flagged("SKU-1", 5, False)

    replanned = replan_change(planned, fresh)

    assert replanned == planned._replace(
        fields=(stock(False, True),), expected_quantity=5
    )


# --- a store that cannot change stock management -------------------------------


def test_a_flag_the_store_cannot_write_is_skipped_and_its_quantity_left() -> None:
    """mag is an MSI source: SKU-A's flag differs from the hub's and is
    skipped whole; SKU-B, whose flag agrees, takes the hub's quantity."""
    policy = Policy(repository(store("mag", H2C, magento=True)))
    current = item("SKU-B", True, 2)
    mag = replace(
        snapshot("mag", item("SKU-A", False, 3), current, casefold=True),
        managed_fixed="the source keeps no flag",
    )

    plan = make_plan(
        policy, hub(("SKU-A", True, 7), ("SKU-B", True, 9)), {"mag": mag}, {}, now=AT
    )

    mag_plan = plan.store("mag")
    assert mag_plan is not None
    assert mag_plan.skipped == (
        Skipped(
            "mag",
            "SKU-A",
            SkipReason.NOT_WRITABLE,
            "stock not managed on the store, managed in the hub; the source keeps "
            "no flag",
        ),
    )
    assert [(c.sku, c.fields) for c in mag_plan.pushes] == [("SKU-B", (qty(2, 9),))]

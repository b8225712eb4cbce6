"""Plans the report tests render: small, readable, one of every kind of entry."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.channels.base import ItemOutcome, Outcome
from reconciler.plan.model import (
    MANAGE_INVENTORY,
    QUANTITY_AVAILABLE,
    Change,
    Conflict,
    FieldChange,
    GuardVerdict,
    Held,
    HoldReason,
    Label,
    Plan,
    Side,
    Skipped,
    SkipReason,
    StorePlan,
)

CREATED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def quantity_change(
    store: str,
    sku: str,
    before: int | None,
    after: int,
    *,
    target: Side = Side.CHANNEL,
    label: Label = Label.UPDATE,
    note: str | None = None,
) -> Change:
    """A change of the quantity only, on a managed item."""
    return Change(
        store=store,
        sku=sku,
        target=target,
        label=label,
        fields=(FieldChange(QUANTITY_AVAILABLE, before, after),),
        managed=True,
        quantity=after,
        ref=f"ref-{sku}",
        expected_managed=True,
        expected_quantity=before,
        note=note,
    )


def tracking_change(store: str, sku: str, after: int) -> Change:
    """A push that turns stock management on for an untracked item."""
    return Change(
        store=store,
        sku=sku,
        target=Side.CHANNEL,
        label=Label.UNTRACKED,
        fields=(
            FieldChange(MANAGE_INVENTORY, False, True),
            FieldChange(QUANTITY_AVAILABLE, None, after),
        ),
        managed=True,
        quantity=after,
        ref=f"ref-{sku}",
        expected_managed=False,
        expected_quantity=None,
    )


def empty_plan() -> Plan:
    return Plan(stores=(), conflicts=(), created_at=CREATED)


def in_sync_plan() -> Plan:
    """Two stores, nothing to do in either."""
    stores = (
        StorePlan("shopify-us", "hub_to_channel", managed_count=3),
        StorePlan("magento-eu", "channel_to_hub", managed_count=3),
    )
    return Plan(stores=stores, conflicts=(), created_at=CREATED)


def small_plan() -> Plan:
    """A master store feeding the hub, and the hub feeding another store."""
    magento = StorePlan(
        "magento-eu",
        "channel_to_hub",
        pulls=(
            quantity_change(
                "magento-eu", "MH01-XS-Black", 5, 3, target=Side.HUB, label=Label.DRIFT
            ),
        ),
        managed_count=2,
    )
    shopify = StorePlan(
        "shopify-us",
        "hub_to_channel",
        pushes=(
            quantity_change("shopify-us", "MH02-S-Blue", 7, 3),
            quantity_change("shopify-us", "MH01-XS-Black", 5, 3),
        ),
        managed_count=2,
    )
    return Plan(stores=(shopify, magento), conflicts=(), created_at=CREATED)


def _held(store: str, sku: str) -> Held:
    return Held(
        store,
        sku,
        Side.CHANNEL,
        HoldReason.MANUAL,
        (FieldChange(QUANTITY_AVAILABLE, 4, 9),),
    )


def full_plan() -> Plan:
    """Every kind of entry: pulls, pushes with labels and notes, held, skipped,
    a conflict, a blocking guard, a guard overridden for the run."""
    magento = StorePlan(
        "magento-eu",
        "channel_to_hub",
        pulls=(
            quantity_change(
                "magento-eu", "WS03-M-Red", 0, 12, target=Side.HUB, label=Label.NEW
            ),
            quantity_change(
                "magento-eu", "MH01-XS-Black", 5, 3, target=Side.HUB, label=Label.DRIFT
            ),
        ),
        skipped=(
            Skipped("magento-eu", "MJ12-L-Gray", SkipReason.CONFLICT),
            Skipped("magento-eu", "ZZ-UNLISTED", SkipReason.UNKNOWN_TO_HUB),
        ),
        managed_count=40,
    )
    shopify = StorePlan(
        "shopify-us",
        "hub_to_channel",
        pushes=(
            quantity_change(
                "shopify-us",
                "MS04-M-Blue",
                2,
                0,
                label=Label.NEGATIVE,
                note="hub quantity -3 pushed as 0",
            ),
            tracking_change("shopify-us", "MT07-S-Gray", 6),
            quantity_change("shopify-us", "MH01-XS-Black", 5, 3),
        ),
        held=tuple(
            _held("shopify-us", sku)
            for sku in ("WB01-S", "WB04-S", "WB02-S", "WB03-S", "WB06-S", "WB05-S")
        ),
        skipped=(
            Skipped("shopify-us", "MJ12-L-Gray", SkipReason.CONFLICT),
            Skipped(
                "shopify-us",
                "MP10-32-Black",
                SkipReason.NOT_STOCKED,
                "not stocked at Main warehouse",
            ),
        ),
        managed_count=50,
        guard=GuardVerdict(
            store="shopify-us",
            managed=50,
            zeroed=1,
            changed=3,
            max_zeroed=0.01,
            max_changed=0.5,
            tripped=True,
            allowed=True,
            message="shopify-us zeroes 1 of 50 SKUs (2%), over guard.max_zeroed 1%",
        ),
    )
    outlet = StorePlan(
        "shopify-outlet",
        "hub_to_channel",
        pushes=(
            quantity_change("shopify-outlet", "MH03-L-Green", 8, 0),
            quantity_change("shopify-outlet", "MH04-L-Green", 9, 0),
        ),
        managed_count=2,
        guard=GuardVerdict(
            store="shopify-outlet",
            managed=2,
            zeroed=2,
            changed=2,
            max_zeroed=0.05,
            max_changed=0.5,
            tripped=True,
            message="shopify-outlet zeroes 2 of 2 SKUs, over guard.max_zeroed 5%",
        ),
    )
    conflicts = (Conflict("MJ12-L-Gray", ("shopify-us", "magento-eu")),)
    return Plan(
        stores=(shopify, outlet, magento), conflicts=conflicts, created_at=CREATED
    )


def full_outcomes() -> dict[tuple[str, str, str], ItemOutcome]:
    """Mixed outcomes for ``full_plan``; the guarded outlet store got none."""
    return {
        ("magento-eu", "WS03-M-Red", "hub"): ItemOutcome("WS03-M-Red", Outcome.APPLIED),
        ("magento-eu", "MH01-XS-Black", "hub"): ItemOutcome(
            "MH01-XS-Black", Outcome.APPLIED
        ),
        ("shopify-us", "MS04-M-Blue", "channel"): ItemOutcome(
            "MS04-M-Blue",
            Outcome.REFUSED,
            code="INVALID_QUANTITY",
            message="Quantity  cannot\nbe set for this item",
        ),
        ("shopify-us", "MT07-S-Gray", "channel"): ItemOutcome(
            "MT07-S-Gray", Outcome.STALE, message="available changed from 6 to 5"
        ),
        ("shopify-us", "MH01-XS-Black", "channel"): ItemOutcome(
            "MH01-XS-Black", Outcome.APPLIED, quantity_after=3
        ),
    }


STORE_ERRORS = {"magento-us": "read failed: HTTP 503 from the channel after 4 attempts"}

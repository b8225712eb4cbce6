"""The planner as a pure function: whole plans asserted for small inputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from reconciler.channels.base import ChannelItem, ItemProblem
from reconciler.config.model import Direction, Mode, NegativeStock
from reconciler.hub.records import HubRecord, SeenValue
from reconciler.plan.model import (
    MANAGE_INVENTORY,
    QUANTITY_AVAILABLE,
    Change,
    Conflict,
    FieldChange,
    Held,
    HoldReason,
    Label,
    Plan,
    Side,
    Skipped,
    SkipReason,
    StorePlan,
)
from reconciler.plan.planner import Selection, make_plan
from reconciler.policy import Policy
from tests.plan.builders import (
    AT,
    hub,
    item,
    override,
    product,
    repository,
    seen,
    snapshot,
    store,
)

H2C = Direction.HUB_TO_CHANNEL
C2H = Direction.CHANNEL_TO_HUB


def qty(before: int | None, after: int | None) -> FieldChange:
    return FieldChange(QUANTITY_AVAILABLE, before, after)


def managed(before: bool, after: bool) -> FieldChange:
    return FieldChange(MANAGE_INVENTORY, before, after)


def push(
    store_name: str,
    sku: str,
    label: Label,
    fields: tuple[FieldChange, ...],
    current: ChannelItem,
    wanted: tuple[bool, int | None],
    note: str | None = None,
) -> Change:
    return Change(
        store=store_name,
        sku=sku,
        target=Side.CHANNEL,
        label=label,
        fields=fields,
        managed=wanted[0],
        quantity=wanted[1],
        ref=current.ref,
        expected_managed=current.managed,
        expected_quantity=current.quantity,
        note=note,
    )


def pull(
    store_name: str,
    sku: str,
    label: Label,
    fields: tuple[FieldChange, ...],
    current: ChannelItem,
) -> Change:
    return Change(
        store=store_name,
        sku=sku,
        target=Side.HUB,
        label=label,
        fields=fields,
        managed=current.managed,
        quantity=current.quantity if current.managed else None,
        ref=current.ref,
        expected_managed=current.managed,
        expected_quantity=current.quantity,
    )


@dataclass
class Case:
    stores: tuple[tuple[str, Direction, Mode], ...]
    hub: dict[str, HubRecord]
    items: Mapping[str, tuple[ChannelItem, ...]]
    expected: tuple[StorePlan, ...]
    seen: Mapping[str, dict[str, SeenValue]] = field(default_factory=dict)
    selection: Selection = field(default_factory=Selection)
    conflicts: tuple[Conflict, ...] = ()


A1 = item("A-1", True, 3)
A1_SEEN_DRIFTED = seen("us", ("A-1", True, 5))
A1_SEEN_SAME = seen("us", ("A-1", True, 3))
UNTRACKED = item("A-1", False, None)
EU_MASTER = item("A-1", True, 9)
US_OLD = item("A-1", True, 4)

CASES = {
    "in-sync-plans-nothing": Case(
        stores=(("us", H2C, Mode.AUTOMATIC),),
        hub=hub(("A-1", True, 3)),
        items={"us": (A1,)},
        expected=(StorePlan("us", "hub_to_channel", managed_count=1),),
    ),
    "hub-master-first-sync-is-new": Case(
        stores=(("us", H2C, Mode.AUTOMATIC),),
        hub=hub(("A-1", True, 7)),
        items={"us": (A1,)},
        expected=(
            StorePlan(
                "us",
                "hub_to_channel",
                pushes=(push("us", "A-1", Label.NEW, (qty(3, 7),), A1, (True, 7)),),
                managed_count=1,
            ),
        ),
    ),
    "channel-changed-since-sync-is-drift": Case(
        stores=(("us", H2C, Mode.AUTOMATIC),),
        hub=hub(("A-1", True, 5)),
        items={"us": (A1,)},
        seen={"us": A1_SEEN_DRIFTED},
        expected=(
            StorePlan(
                "us",
                "hub_to_channel",
                pushes=(push("us", "A-1", Label.DRIFT, (qty(3, 5),), A1, (True, 5)),),
                managed_count=1,
            ),
        ),
    ),
    "hub-changed-since-sync-is-update": Case(
        stores=(("us", H2C, Mode.AUTOMATIC),),
        hub=hub(("A-1", True, 8)),
        items={"us": (A1,)},
        seen={"us": A1_SEEN_SAME},
        expected=(
            StorePlan(
                "us",
                "hub_to_channel",
                pushes=(push("us", "A-1", Label.UPDATE, (qty(3, 8),), A1, (True, 8)),),
                managed_count=1,
            ),
        ),
    ),
    "channel-not-tracking-is-untracked": Case(
        stores=(("us", H2C, Mode.AUTOMATIC),),
        hub=hub(("A-1", True, 2)),
        items={"us": (UNTRACKED,)},
        expected=(
            StorePlan(
                "us",
                "hub_to_channel",
                pushes=(
                    push(
                        "us",
                        "A-1",
                        Label.UNTRACKED,
                        (managed(False, True), qty(None, 2)),
                        UNTRACKED,
                        (True, 2),
                    ),
                ),
            ),
        ),
    ),
    "unmanaged-hub-leaves-quantity-alone": Case(
        stores=(("us", H2C, Mode.AUTOMATIC),),
        hub=hub(("A-1", False, 50)),
        items={"us": (A1,)},
        expected=(
            StorePlan(
                "us",
                "hub_to_channel",
                pushes=(
                    push(
                        "us",
                        "A-1",
                        Label.UNTRACKED,
                        (managed(True, False),),
                        A1,
                        (False, None),
                    ),
                ),
                managed_count=1,
            ),
        ),
    ),
    "negative-hub-pushed-as-zero": Case(
        stores=(("us", H2C, Mode.AUTOMATIC),),
        hub=hub(("A-1", True, -2)),
        items={"us": (A1,)},
        expected=(
            StorePlan(
                "us",
                "hub_to_channel",
                pushes=(
                    push(
                        "us",
                        "A-1",
                        Label.NEGATIVE,
                        (qty(3, 0),),
                        A1,
                        (True, 0),
                        "hub quantity -2 pushed as 0",
                    ),
                ),
                managed_count=1,
            ),
        ),
    ),
    "master-store-to-hub-to-other-store": Case(
        stores=(("eu", C2H, Mode.AUTOMATIC), ("us", H2C, Mode.AUTOMATIC)),
        hub=hub(("A-1", True, 4)),
        items={"eu": (EU_MASTER,), "us": (US_OLD,)},
        expected=(
            StorePlan(
                "eu",
                "channel_to_hub",
                pulls=(pull("eu", "A-1", Label.NEW, (qty(4, 9),), EU_MASTER),),
                managed_count=1,
            ),
            StorePlan(
                "us",
                "hub_to_channel",
                pushes=(push("us", "A-1", Label.NEW, (qty(4, 9),), US_OLD, (True, 9)),),
                managed_count=1,
            ),
        ),
    ),
    "hub-moved-away-from-master-is-drift": Case(
        stores=(("eu", C2H, Mode.AUTOMATIC),),
        hub=hub(("A-1", True, 4)),
        items={"eu": (EU_MASTER,)},
        seen={"eu": seen("eu", ("A-1", True, 9))},
        expected=(
            StorePlan(
                "eu",
                "channel_to_hub",
                pulls=(pull("eu", "A-1", Label.DRIFT, (qty(4, 9),), EU_MASTER),),
                managed_count=1,
            ),
        ),
    ),
    "manual-difference-is-held": Case(
        stores=(("us", H2C, Mode.MANUAL),),
        hub=hub(("A-1", True, 7)),
        items={"us": (A1,)},
        expected=(
            StorePlan(
                "us",
                "hub_to_channel",
                held=(
                    Held("us", "A-1", Side.CHANNEL, HoldReason.MANUAL, (qty(3, 7),)),
                ),
                managed_count=1,
            ),
        ),
    ),
    "manual-selected-by-sku-is-pushed": Case(
        stores=(("us", H2C, Mode.MANUAL),),
        hub=hub(("A-1", True, 7), ("B-2", True, 1)),
        items={"us": (A1, item("B-2", True, 0))},
        selection=Selection(skus=frozenset({"A-1"})),
        expected=(
            StorePlan(
                "us",
                "hub_to_channel",
                pushes=(push("us", "A-1", Label.NEW, (qty(3, 7),), A1, (True, 7)),),
                managed_count=2,
            ),
        ),
    ),
    "unknown-and-missing-skus-are-skipped": Case(
        stores=(("us", H2C, Mode.AUTOMATIC),),
        hub=hub(("A-1", True, 3), ("GONE", True, 1)),
        items={"us": (A1, item("EXTRA", True, 2))},
        expected=(
            StorePlan(
                "us",
                "hub_to_channel",
                skipped=(
                    Skipped("us", "EXTRA", SkipReason.UNKNOWN_TO_HUB),
                    Skipped("us", "GONE", SkipReason.NOT_ON_STORE),
                ),
                managed_count=2,
            ),
        ),
    ),
    "channel-problems-are-skipped-with-detail": Case(
        stores=(("us", H2C, Mode.AUTOMATIC),),
        hub=hub(("A-1", True, 3), ("B-2", True, 3)),
        items={
            "us": (
                item("A-1", True, 0, ItemProblem.AMBIGUOUS, "2 variants share A-1"),
                item("B-2", True, None, ItemProblem.NOT_STOCKED, "not at Main"),
            )
        },
        expected=(
            StorePlan(
                "us",
                "hub_to_channel",
                skipped=(
                    Skipped("us", "A-1", SkipReason.AMBIGUOUS, "2 variants share A-1"),
                    Skipped("us", "B-2", SkipReason.NOT_STOCKED, "not at Main"),
                ),
                managed_count=1,  # B-2 holds no stock at the store's location
            ),
        ),
    ),
    "direction-none-plans-nothing": Case(
        stores=(("us", Direction.NONE, Mode.AUTOMATIC),),
        hub=hub(("A-1", True, 9)),
        items={"us": (A1, item("EXTRA", True, 2))},
        expected=(StorePlan("us", "none", managed_count=2),),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_plan(case: Case) -> None:
    configs = [store(name, direction, mode) for name, direction, mode in case.stores]
    policy = Policy(repository(*configs))
    snapshots = {name: snapshot(name, *items) for name, items in case.items.items()}

    plan = make_plan(
        policy, case.hub, snapshots, case.seen, selection=case.selection, now=AT
    )

    assert plan == Plan(case.expected, case.conflicts, AT)


def test_two_master_stores_are_a_conflict_and_left_alone() -> None:
    eu = store("eu", C2H)
    uk = store("uk", H2C)
    two = product("A-1", {"uk": override("vendors/acme.yaml", C2H)})
    policy = Policy(repository(eu, uk, products={"A-1": two}))
    snapshots = {
        "eu": snapshot("eu", item("A-1", True, 9)),
        "uk": snapshot("uk", item("A-1", True, 2)),
    }

    plan = make_plan(policy, hub(("A-1", True, 4)), snapshots, {}, now=AT)

    assert plan == Plan(
        (
            StorePlan("eu", "channel_to_hub", managed_count=1),
            StorePlan("uk", "hub_to_channel", managed_count=1),
        ),
        (Conflict("A-1", ("eu", "uk")),),
        AT,
    )


def test_negative_stock_push_as_is_says_so() -> None:
    us = store("us", H2C, negative=NegativeStock.PUSH_AS_IS)
    current = item("A-1", True, 1)

    plan = make_plan(
        Policy(repository(us)),
        hub(("A-1", True, -4)),
        {"us": snapshot("us", current)},
        {},
        now=AT,
    )

    expected = push(
        "us",
        "A-1",
        Label.NEGATIVE,
        (qty(1, -4),),
        current,
        (True, -4),
        "hub quantity -4 pushed as is",
    )
    assert plan.stores[0].pushes == (expected,)


def test_product_manage_inventory_wins_over_hub_record() -> None:
    us = store("us", H2C)
    policy = Policy(repository(us, products={"A-1": product("A-1", manage=False)}))

    plan = make_plan(
        policy, hub(("A-1", True, 6)), {"us": snapshot("us", A1)}, {}, now=AT
    )

    expected = push(
        "us", "A-1", Label.UNTRACKED, (managed(True, False),), A1, (False, None)
    )
    assert plan.stores[0].pushes == (expected,)


def test_magento_store_matches_skus_case_insensitively() -> None:
    eu = store("eu", H2C, magento=True)
    current = item("a-1", True, 1)

    plan = make_plan(
        Policy(repository(eu)),
        hub(("A-1", True, 5)),
        {"eu": snapshot("eu", current, casefold=True)},
        {},
        now=AT,
    )

    expected = push("eu", "A-1", Label.NEW, (qty(1, 5),), current, (True, 5))
    assert plan.stores[0] == StorePlan(
        "eu", "hub_to_channel", pushes=(expected,), managed_count=1
    )


def test_summary_counts_every_kind() -> None:
    case = CASES["unknown-and-missing-skus-are-skipped"]
    configs = [store(name, d, m) for name, d, m in case.stores]
    snapshots = {n: snapshot(n, *items) for n, items in case.items.items()}

    plan = make_plan(Policy(repository(*configs)), case.hub, snapshots, {}, now=AT)

    assert plan.summary() == {
        "stores": 1,
        "pulls": 0,
        "pushes": 0,
        "held": 0,
        "skipped": 2,
        "conflicts": 0,
        "guards_tripped": 0,
    }
    assert not plan.has_changes

"""Each setting resolves on its own, most specific level first, with provenance."""

from __future__ import annotations

import pytest

from reconciler.config.model import Direction, Mode
from reconciler.policy import (
    BUILT_IN_DIRECTION,
    BUILT_IN_INTERVAL,
    BUILT_IN_MODE,
    Decided,
    EffectivePolicy,
    Level,
    Policy,
)

from .builders import at, override
from .layers import LINES, SKU, STORE, VENDOR, build, path_of

# A distinct value per level, so the winner shows in the value as well.
DIRECTIONS = {
    Level.PRODUCT_STORE: Direction.CHANNEL_TO_HUB,
    Level.PRODUCT: Direction.NONE,
    Level.VENDOR_STORE: Direction.HUB_TO_CHANNEL,
    Level.VENDOR: Direction.CHANNEL_TO_HUB,
    Level.STORE: Direction.NONE,
}
MODES = {
    Level.PRODUCT_STORE: Mode.MANUAL,
    Level.PRODUCT: Mode.AUTOMATIC,
    Level.VENDOR_STORE: Mode.MANUAL,
    Level.VENDOR: Mode.AUTOMATIC,
    Level.STORE: Mode.MANUAL,
}
INTERVALS = {
    Level.PRODUCT_STORE: 60,
    Level.PRODUCT: 120,
    Level.VENDOR_STORE: 180,
    Level.VENDOR: 240,
    Level.STORE: 600,
}
MANAGED = {
    Level.PRODUCT_STORE: False,
    Level.PRODUCT: True,
    Level.VENDOR_STORE: False,
    Level.VENDOR: True,
    Level.STORE: False,
}

ALL = frozenset(LINES)
P, PS, V, VS, S = (
    Level.PRODUCT,
    Level.PRODUCT_STORE,
    Level.VENDOR,
    Level.VENDOR_STORE,
    Level.STORE,
)

TABLE = [
    pytest.param(ALL, PS, id="all-five:product+store"),
    pytest.param(ALL - {PS}, P, id="no-product+store:product"),
    pytest.param({VS, V, S}, VS, id="vendor-levels-and-store:vendor+store"),
    pytest.param({V, S}, V, id="vendor-and-store:vendor"),
    pytest.param({S}, S, id="store-only:store"),
    pytest.param({P, S}, P, id="product-over-store:product"),
    pytest.param({PS, V}, PS, id="product+store-over-vendor:product+store"),
    pytest.param({VS, P}, P, id="product-over-vendor+store:product"),
    pytest.param({PS}, PS, id="product+store-only:product+store"),
    pytest.param({VS}, VS, id="vendor+store-only:vendor+store"),
    pytest.param(set(), None, id="nothing-set:built-in"),
]


def line(level: Level, offset: int) -> int:
    """The line of a setting: direction, mode, interval, manage_inventory."""
    return LINES[level] + offset


@pytest.mark.parametrize(("levels", "winner"), TABLE)
def test_direction_comes_from_the_most_specific_level(
    levels: set[Level], winner: Level | None
) -> None:
    repo = build(
        {
            lv: override(path_of(lv), LINES[lv], direction=DIRECTIONS[lv])
            for lv in levels
        }
    )

    decided = Policy(repo).for_sku(STORE, SKU).direction

    expected = BUILT_IN_DIRECTION
    if winner is not None:
        expected = Decided(
            DIRECTIONS[winner], winner, at(path_of(winner), line(winner, 0))
        )
    assert decided == expected


@pytest.mark.parametrize(("levels", "winner"), TABLE)
def test_mode_comes_from_the_most_specific_level(
    levels: set[Level], winner: Level | None
) -> None:
    repo = build(
        {lv: override(path_of(lv), LINES[lv], mode=MODES[lv]) for lv in levels}
    )

    decided = Policy(repo).for_sku(STORE, SKU).mode

    expected = BUILT_IN_MODE
    if winner is not None:
        expected = Decided(MODES[winner], winner, at(path_of(winner), line(winner, 1)))
    assert decided == expected


@pytest.mark.parametrize(("levels", "winner"), TABLE)
def test_interval_comes_from_the_most_specific_level(
    levels: set[Level], winner: Level | None
) -> None:
    repo = build(
        {lv: override(path_of(lv), LINES[lv], interval=INTERVALS[lv]) for lv in levels}
    )

    decided = Policy(repo).for_sku(STORE, SKU).interval

    expected = BUILT_IN_INTERVAL
    if winner is not None:
        expected = Decided(
            INTERVALS[winner], winner, at(path_of(winner), line(winner, 2))
        )
    assert decided == expected


@pytest.mark.parametrize(("levels", "winner"), TABLE)
def test_manage_inventory_comes_from_the_most_specific_level_or_the_hub(
    levels: set[Level], winner: Level | None
) -> None:
    repo = build(
        {
            lv: override(path_of(lv), LINES[lv], manage_inventory=MANAGED[lv])
            for lv in levels
        }
    )

    decided = Policy(repo).for_sku(STORE, SKU).manage_inventory

    expected = None
    if winner is not None:
        expected = Decided(
            MANAGED[winner], winner, at(path_of(winner), line(winner, 3))
        )
    assert decided == expected


def test_settings_resolve_independently_of_each_other() -> None:
    repo = build(
        {
            PS: override(path_of(PS), LINES[PS], interval=60),
            P: override(path_of(P), LINES[P], mode=Mode.MANUAL),
            V: override(path_of(V), LINES[V], manage_inventory=False),
            S: override(
                path_of(S),
                LINES[S],
                direction=Direction.HUB_TO_CHANNEL,
                mode=Mode.AUTOMATIC,
                interval=600,
            ),
        }
    )

    policy = Policy(repo).for_sku(STORE, SKU)

    assert policy == EffectivePolicy(
        store=STORE,
        sku=SKU,
        vendor=VENDOR,
        direction=Decided(Direction.HUB_TO_CHANNEL, S, at("stores/shop.yaml", 10)),
        mode=Decided(Mode.MANUAL, P, at("vendors/acme.yaml", 31)),
        interval=Decided(60, PS, at("vendors/acme.yaml", 42)),
        manage_inventory=Decided(False, V, at("vendors/acme.yaml", 13)),
    )


def test_an_override_for_another_store_does_not_apply() -> None:
    elsewhere = override(path_of(PS), 50, direction=Direction.CHANNEL_TO_HUB)
    repo = build(
        {S: override(path_of(S), LINES[S], direction=Direction.HUB_TO_CHANNEL)},
        elsewhere,
    )

    policy = Policy(repo)

    assert policy.for_sku(STORE, SKU).direction == Decided(
        Direction.HUB_TO_CHANNEL, S, at("stores/shop.yaml", 10)
    )
    assert policy.for_sku("other", SKU).direction == Decided(
        Direction.CHANNEL_TO_HUB, PS, at(path_of(PS), 50)
    )


def test_decided_source_names_file_line_and_level() -> None:
    decided = Decided(Mode.MANUAL, Level.VENDOR_STORE, at("vendors/acme.yaml", 12))

    assert [decided.source, BUILT_IN_MODE.source] == [
        "vendors/acme.yaml:12 (vendor+store)",
        "built-in",
    ]


def test_levels_are_ordered_most_specific_first() -> None:
    assert [str(level) for level in Level] == [
        "product+store",
        "product",
        "vendor+store",
        "vendor",
        "store",
        "defaults",
        "built-in",
        "hub",
    ]

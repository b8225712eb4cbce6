"""The Shopify adapter against the Shopify emulator, in-process.

Each test asserts the whole list of requests the emulator received, reduced
to the operation and the variables that matter for the behaviour.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from reconciler.channels.base import (
    ChannelItem,
    DesiredChange,
    ItemOutcome,
    ItemProblem,
    Outcome,
)
from reconciler.channels.shopify import ShopifyAdapter
from reconciler.clock import Backoff, FakeClock
from reconciler.config.model import ShopifyChannel
from reconciler.errors import (
    ChannelConfigError,
    ChannelRefused,
    ChannelUnavailable,
)
from reconciler.sandbox.base import transport_for
from reconciler.sandbox.shopify import ShopifyEmulator

PATH = "/admin/api/2025-01/graphql.json"
LOCATION = "gid://shopify/Location/1"


def connect(
    shop: ShopifyEmulator,
    *,
    clock: FakeClock,
    version: str = "2025-01",
    location: str = "Main warehouse",
    activate: bool = False,
    token: str | None = None,
) -> ShopifyAdapter:
    channel = ShopifyChannel(
        endpoint=f"sandbox://{shop.name}",
        api_version=version,
        location=location,
        token_env=None,
        activate_unstocked=activate,
    )
    client = httpx.Client(transport=transport_for(shop), base_url=channel.endpoint)
    return ShopifyAdapter(
        "shopify-us", channel, client, token=token, clock=clock, run_id="run-1"
    )


def shop_with(count: int, clock: FakeClock, quantity: int = 0) -> ShopifyEmulator:
    shop = ShopifyEmulator("us", clock=clock)
    for number in range(count):
        shop.add_variant(f"SKU-{number:04}", quantity=quantity)
    return shop


def calls(shop: ShopifyEmulator) -> list[tuple[str, str, Any]]:
    """Each request as (path, operation, the variables that matter)."""
    return [_call(shop, r.path, r.body) for r in shop.requests]


def _call(shop: ShopifyEmulator, path: str, body: Any) -> tuple[str, str, Any]:
    found = re.match(r"(?:query|mutation) (\w+)", body["query"])
    operation = found[1] if found else "?"
    variables = body["variables"]
    if operation == "StockPage":
        page = (variables["first"], variables["after"] is not None)
        return path, operation, (*page, variables["query"])
    if operation == "SetAvailable":
        quantities = variables["input"]["quantities"]
        return (
            path,
            operation,
            [_sku_of(shop, q["inventoryItemId"]) for q in quantities],
        )
    if operation == "StoreLocations":
        return path, operation, variables["first"]
    return path, operation, variables


def _sku_of(shop: ShopifyEmulator, ref: str) -> str:
    item_id = int(ref.rsplit("/", 1)[1])
    return next(v.sku for v in shop.variants.values() if v.item_id == item_id)


def change(
    shop: ShopifyEmulator, sku: str, quantity: int | None, expected: int | None
) -> DesiredChange:
    variant = next(v for v in shop.variants.values() if v.sku == sku)
    return DesiredChange(
        sku=sku,
        ref=f"gid://shopify/InventoryItem/{variant.item_id}",
        managed=True,
        quantity=quantity,
        expected_managed=variant.tracked,
        expected_quantity=expected,
    )


# --- reading -------------------------------------------------------------------


def test_read_of_1200_skus_in_pages_paced_by_the_bucket() -> None:
    clock = FakeClock()
    shop = shop_with(1200, clock, quantity=7)
    adapter = connect(shop, clock=clock)
    counts: list[int] = []

    snapshot = adapter.read(on_page=counts.append)

    assert counts == [249, 498, 747, 996, 1200]
    assert calls(shop) == [
        (PATH, "StoreLocations", 250),
        (PATH, "StockPage", (249, False, None)),
        (PATH, "StockPage", (249, True, None)),
        (PATH, "StockPage", (249, True, None)),
        (PATH, "StockPage", (249, True, None)),
        (PATH, "StockPage", (249, True, None)),
    ]
    assert clock.waits == pytest.approx([5.0, 19.96, 19.96, 19.96, 19.96])
    assert len(snapshot.items) == 1200
    assert {item.quantity for item in snapshot.items.values()} == {7}


def test_read_classifies_every_kind_of_item() -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock)
    shop.add_variant("12", quantity=4)
    shop.add_variant("123", quantity=9)
    shop.add_variant("", quantity=1)
    first = shop.add_variant("DUP", quantity=2)
    second = shop.add_variant("DUP", quantity=3)
    unstocked = shop.add_variant("AWAY", quantity=None)
    loose = shop.add_variant("LOOSE", quantity=5, tracked=False)

    snapshot = connect(shop, clock=clock).read()

    item = "gid://shopify/InventoryItem/{}".format
    assert dict(snapshot.items) == {
        "12": ChannelItem("12", item(3), managed=True, quantity=4),
        "123": ChannelItem("123", item(5), managed=True, quantity=9),
        "DUP": ChannelItem(
            "DUP",
            item(first.item_id),
            managed=True,
            quantity=None,
            problem=ItemProblem.AMBIGUOUS,
            detail=f"SKU on 2 inventory items: {item(first.item_id)}, "
            f"{item(second.item_id)}",
        ),
        "AWAY": ChannelItem(
            "AWAY",
            item(unstocked.item_id),
            managed=True,
            quantity=None,
            problem=ItemProblem.NOT_STOCKED,
            detail="not stocked at the store's location",
        ),
        "LOOSE": ChannelItem("LOOSE", item(loose.item_id), managed=False, quantity=5),
    }
    assert snapshot.skipped_empty_sku == 1


def test_read_of_given_skus_keeps_only_exact_matches() -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock)
    shop.add_variant("12", quantity=4)
    shop.add_variant("123", quantity=9)
    shop.add_variant('A"B', quantity=1)

    snapshot = connect(shop, clock=clock).read(["12", 'A"B'])

    assert calls(shop)[1:] == [
        (PATH, "StockPage", (249, False, 'sku:"12" OR sku:"A\\"B"')),
    ]
    assert sorted(snapshot.items) == ["12", 'A"B']


@pytest.mark.parametrize(
    "location", ["Main warehouse", LOCATION], ids=["by-name", "by-gid"]
)
def test_location_resolves_by_name_or_gid(location: str) -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock)
    shop.add_location("Shop floor")

    assert connect(shop, clock=clock, location=location).location_id() == LOCATION


def test_unknown_location_lists_the_locations_seen() -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock)
    shop.add_location("Shop floor")

    with pytest.raises(ChannelConfigError) as raised:
        connect(shop, clock=clock, location="Backroom").read()

    assert str(raised.value) == (
        "store shopify-us: location 'Backroom' not found on the shop; locations "
        "seen: Main warehouse (gid://shopify/Location/1), "
        "Shop floor (gid://shopify/Location/2)"
    )


# --- writing -------------------------------------------------------------------


def test_write_of_600_items_in_batches_of_250() -> None:
    clock = FakeClock()
    shop = shop_with(600, clock)
    changes = [change(shop, f"SKU-{n:04}", 5, 0) for n in range(600)]

    outcomes = connect(shop, clock=clock).write(changes)

    skus = [c.sku for c in changes]
    assert calls(shop) == [
        (PATH, "StoreLocations", 250),
        (PATH, "SetAvailable", skus[:250]),
        (PATH, "SetAvailable", skus[250:500]),
        (PATH, "SetAvailable", skus[500:]),
    ]
    assert outcomes == [ItemOutcome(s, Outcome.APPLIED, quantity_after=5) for s in skus]
    assert {v.levels[1] for v in shop.variants.values()} == {5}


def test_write_with_two_refusals_applies_the_other_98_and_retries_none() -> None:
    clock = FakeClock()
    shop = shop_with(100, clock)
    shop.faults.refusals = {
        "SKU-0010": ("NON_MUTABLE_INVENTORY_ITEM", "Bundle parents cannot be set."),
        "SKU-0050": ("INVALID_QUANTITY_TOO_HIGH", "Too high."),
    }
    changes = [change(shop, f"SKU-{n:04}", 3, 0) for n in range(100)]

    outcomes = connect(shop, clock=clock).write(changes)

    skus = [c.sku for c in changes]
    rest = [s for s in skus if s not in ("SKU-0010", "SKU-0050")]
    assert calls(shop) == [
        (PATH, "StoreLocations", 250),
        (PATH, "SetAvailable", skus),
        (PATH, "SetAvailable", rest),
    ]
    refused = {
        "SKU-0010": ItemOutcome(
            "SKU-0010",
            Outcome.REFUSED,
            code="NON_MUTABLE_INVENTORY_ITEM",
            message="Bundle parents cannot be set.",
        ),
        "SKU-0050": ItemOutcome(
            "SKU-0050",
            Outcome.REFUSED,
            code="INVALID_QUANTITY_TOO_HIGH",
            message="Too high.",
        ),
    }
    assert outcomes == [
        refused.get(s) or ItemOutcome(s, Outcome.APPLIED, quantity_after=3)
        for s in skus
    ]
    assert shop.quantity("SKU-0010") == 0
    assert shop.quantity("SKU-0011") == 3


def test_stale_compare_and_set_is_reported_and_not_retried() -> None:
    clock = FakeClock()
    shop = shop_with(1, clock)
    shop.set_quantity("SKU-0000", 4)

    outcomes = connect(shop, clock=clock).write([change(shop, "SKU-0000", 9, 0)])

    assert calls(shop) == [
        (PATH, "StoreLocations", 250),
        (PATH, "SetAvailable", ["SKU-0000"]),
    ]
    assert outcomes == [
        ItemOutcome(
            "SKU-0000",
            Outcome.STALE,
            code="COMPARE_QUANTITY_STALE",
            message="The compareQuantity argument no longer matches the "
            "persisted quantity.",
        )
    ]
    assert shop.quantity("SKU-0000") == 4


def test_concurrent_sale_between_read_and_write_is_not_overwritten() -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock)
    shop.add_variant("A", quantity=10)
    shop.add_variant("B", quantity=10)
    adapter = connect(shop, clock=clock)
    snapshot = adapter.read()
    shop.faults.concurrent_sales = {"A": 2}

    outcomes = adapter.write(
        [change(shop, sku, 15, snapshot.items[sku].quantity) for sku in ("A", "B")]
    )

    assert [call[1:] for call in calls(shop)] == [
        ("StoreLocations", 250),
        ("StockPage", (249, False, None)),
        ("SetAvailable", ["A", "B"]),
        ("SetAvailable", ["B"]),
    ]
    assert [(o.sku, o.outcome) for o in outcomes] == [
        ("A", Outcome.STALE),
        ("B", Outcome.APPLIED),
    ]
    assert (shop.quantity("A"), shop.quantity("B")) == (8, 15)


def test_version_2026_04_sends_change_from_and_a_stable_idempotency_key() -> None:
    clock = FakeClock()
    shop = shop_with(2, clock)
    adapter = connect(shop, clock=clock, version="2026-04")
    adapter.location_id()
    shop.faults.server_errors = 1

    outcomes = adapter.write([change(shop, "SKU-0000", 6, 0)])

    first, second = (r.body for r in shop.requests[1:])
    assert first == second
    assert first["variables"]["input"]["quantities"] == [
        {
            "inventoryItemId": "gid://shopify/InventoryItem/3",
            "locationId": LOCATION,
            "quantity": 6,
            "changeFromQuantity": 0,
        }
    ]
    assert "@idempotent(key: $key)" in first["query"]
    assert re.fullmatch(r"[0-9a-f]{40}", first["variables"]["key"])
    assert outcomes == [ItemOutcome("SKU-0000", Outcome.APPLIED, quantity_after=6)]


def test_idempotent_replay_returns_the_first_result_without_applying() -> None:
    clock = FakeClock()
    shop = shop_with(1, clock)
    connect(shop, clock=clock, version="2026-04").write(
        [change(shop, "SKU-0000", 6, 0)]
    )
    body = shop.requests[-1].body
    shop.set_quantity("SKU-0000", 2)
    client = httpx.Client(transport=transport_for(shop), base_url="sandbox://us")

    again = client.post("/admin/api/2026-04/graphql.json", json=body).json()

    assert again["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shop.quantity("SKU-0000") == 2


def test_tracked_is_set_before_the_quantity() -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock)
    shop.add_variant("LOOSE", quantity=0, tracked=False)

    outcomes = connect(shop, clock=clock).write([change(shop, "LOOSE", 4, 0)])

    assert [call[1:] for call in calls(shop)] == [
        ("StoreLocations", 250),
        (
            "SetTracked",
            {"id": "gid://shopify/InventoryItem/3", "input": {"tracked": True}},
        ),
        ("SetAvailable", ["LOOSE"]),
    ]
    assert outcomes == [ItemOutcome("LOOSE", Outcome.APPLIED, quantity_after=4)]
    assert (shop.tracked("LOOSE"), shop.quantity("LOOSE")) == (True, 4)


def test_unstocked_item_is_refused_with_a_clear_message() -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock)
    shop.add_variant("AWAY", quantity=None)

    outcomes = connect(shop, clock=clock).write([change(shop, "AWAY", 4, None)])

    assert outcomes == [
        ItemOutcome(
            "AWAY",
            Outcome.REFUSED,
            code="ITEM_NOT_STOCKED_AT_LOCATION",
            message="SKU AWAY is not stocked at location 'Main warehouse' of store "
            "shopify-us; stock it there in Shopify, or set activate_unstocked: "
            "true to let the reconciler do it (The specified inventory item is "
            "not stocked at the location.)",
        )
    ]
    assert shop.quantity("AWAY") is None


def test_unstocked_item_is_activated_when_the_store_opts_in() -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock)
    shop.add_variant("AWAY", quantity=None)

    outcomes = connect(shop, clock=clock, activate=True).write(
        [change(shop, "AWAY", 4, None)]
    )

    assert [call[1] for call in calls(shop)] == [
        "StoreLocations",
        "SetAvailable",
        "ActivateAtLocation",
    ]
    assert calls(shop)[2][2] == {
        "item": "gid://shopify/InventoryItem/3",
        "location": LOCATION,
        "available": 4,
    }
    assert outcomes == [ItemOutcome("AWAY", Outcome.APPLIED, quantity_after=4)]
    assert shop.quantity("AWAY") == 4


# --- throttling and failures ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "points", "waits"),
    [
        (200, 700, [5.0, 14.0]),
        (200, 701, [5.0, 14.02]),
        (429, 701, [5.0, 15.0]),
    ],
    ids=["throttled-200", "throttled-200-fraction", "http-429-retry-after"],
)
def test_throttled_sequence_waits_what_the_shop_reports(
    status: int, points: float, waits: list[float]
) -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock, throttle_http_status=status)
    shop.add_variant("A", quantity=1)
    adapter = connect(shop, clock=clock)
    adapter.location_id()
    shop.consume(points)

    snapshot = adapter.read(["A"])

    assert [call[1:] for call in calls(shop)] == [
        ("StoreLocations", 250),
        ("StockPage", (249, False, 'sku:"A"')),
        ("StockPage", (249, False, 'sku:"A"')),
    ]
    assert clock.waits == pytest.approx(waits)
    assert snapshot.items["A"].quantity == 1


def test_answers_without_a_cost_block_are_read_without_pacing() -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock, maximum=10_000, report_cost=False)
    shop.add_variant("A", quantity=2)

    snapshot = connect(shop, clock=clock).read()

    assert snapshot.items["A"].quantity == 2
    assert clock.waits == []


@pytest.mark.parametrize("fault", ["server_errors", "timeouts", "dropped"], ids=str)
def test_transient_faults_are_retried_on_the_backoff_schedule(fault: str) -> None:
    clock = FakeClock()
    shop = shop_with(1, clock, quantity=3)
    setattr(shop.faults, fault, 2)

    snapshot = connect(shop, clock=clock).read()

    assert [call[1] for call in calls(shop)] == ["StoreLocations"] * 3 + ["StockPage"]
    assert clock.waits == [0.5, 1.0, 5.0]
    assert snapshot.items["SKU-0000"].quantity == 3


def test_read_raises_after_the_last_attempt() -> None:
    clock = FakeClock()
    shop = shop_with(1, clock)
    shop.faults.timeouts = 6

    with pytest.raises(ChannelUnavailable) as raised:
        connect(shop, clock=clock).read()

    assert str(raised.value) == (
        "store shopify-us: locations timed out after 5 s (gave up after 6 attempts)"
    )
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)
    assert clock.waits == list(Backoff().delays)


def test_write_is_deferred_after_the_last_attempt() -> None:
    clock = FakeClock()
    shop = shop_with(2, clock)
    adapter = connect(shop, clock=clock)
    adapter.location_id()
    shop.faults.server_errors = 6

    outcomes = adapter.write([change(shop, s, 1, 0) for s in ("SKU-0000", "SKU-0001")])

    message = (
        "store shopify-us: inventorySetQuantities got HTTP 503 "
        "(gave up after 6 attempts)"
    )
    assert outcomes == [
        ItemOutcome(s, Outcome.DEFERRED, code="ChannelUnavailable", message=message)
        for s in ("SKU-0000", "SKU-0001")
    ]
    assert len(shop.requests) == 1 + 6


def test_refused_token_is_permanent_and_never_echoed() -> None:
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock, token="shpat_right")

    with pytest.raises(ChannelRefused) as raised:
        connect(shop, clock=clock, token="shpat_wrong_secret").read()

    assert str(raised.value) == (
        "store shopify-us: Shopify refused the access token for locations "
        "(HTTP 401); check the store's token environment variable"
    )
    assert len(shop.requests) == 1
    assert clock.waits == []


def test_unknown_root_field_is_a_graphql_error() -> None:
    shop = ShopifyEmulator("us", clock=FakeClock())
    client = httpx.Client(transport=transport_for(shop), base_url="sandbox://us")

    answer = client.post(PATH, json={"query": "{ shop { name } }"}).json()

    assert answer["errors"] == [
        {
            "message": "Field 'shop' doesn't exist on type 'QueryRoot'",
            "extensions": {"code": "undefinedField"},
        }
    ]


def test_more_than_250_quantities_are_refused_by_the_shop() -> None:
    shop = shop_with(1, FakeClock())
    quantity = {
        "inventoryItemId": "gid://shopify/InventoryItem/3",
        "locationId": LOCATION,
        "quantity": 1,
        "compareQuantity": 0,
    }
    body = {
        "query": "mutation S($input: InventorySetQuantitiesInput!) "
        "{ inventorySetQuantities(input: $input) { userErrors { code } } }",
        "variables": {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [quantity] * 251,
            }
        },
    }
    client = httpx.Client(transport=transport_for(shop), base_url="sandbox://us")

    answer = client.post(PATH, json=body).json()

    assert answer["errors"][0]["extensions"] == {"code": "MAX_INPUT_SIZE_EXCEEDED"}
    assert shop.quantity("SKU-0000") == 0

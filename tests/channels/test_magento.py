"""The Magento adapter against the emulator, through the in-process transport.

Each test asserts the whole list of requests the emulator received.
"""

from __future__ import annotations

from uuid import UUID

import httpx
import pytest

from reconciler.channels.base import (
    ChannelItem,
    DesiredChange,
    ItemOutcome,
    ItemProblem,
    Outcome,
)
from reconciler.channels.magento import MagentoAdapter, render_error
from reconciler.clock import Backoff, FakeClock
from reconciler.config.model import MagentoChannel
from reconciler.errors import ChannelConfigError, ChannelRefused, ChannelUnavailable
from reconciler.sandbox.base import ReceivedRequest, transport_for
from reconciler.sandbox.magento import MagentoEmulator

LEGACY = "/rest/all/V1"


def adapter_for(
    emulator: MagentoEmulator,
    *,
    source: str | None = None,
    token: str | None = None,
    clock: FakeClock | None = None,
    manage_stock_default: bool = True,
    bulk: bool = False,
    recheck: bool = False,
) -> MagentoAdapter:
    channel = MagentoChannel(
        endpoint="sandbox://eu",
        store_code="all",
        source=source,
        token_env=None,
        manage_stock_default=manage_stock_default,
        bulk=bulk,
        recheck=recheck,
    )
    client = httpx.Client(
        base_url="http://eu.sandbox.invalid", transport=transport_for(emulator)
    )
    return MagentoAdapter(
        "magento-eu", channel, client, token=token, clock=clock or FakeClock()
    )


def catalog(count: int, **options: object) -> MagentoEmulator:
    emulator = MagentoEmulator("eu", **options)  # type: ignore[arg-type]
    for number in range(1, count + 1):
        emulator.add_product(f"SKU-{number:05d}", 10)
    return emulator


def page_query(
    page: int,
    *,
    sort: str = "entity_id",
    size: int = 300,
    filters: tuple[tuple[str, str, str], ...] = (),
) -> tuple[tuple[str, str], ...]:
    query: list[tuple[str, str]] = []
    for index, (field, value, condition) in enumerate(filters):
        group = f"searchCriteria[filter_groups][{index}][filters][0]"
        query += [
            (f"{group}[field]", field),
            (f"{group}[value]", value),
            (f"{group}[condition_type]", condition),
        ]
    return (
        *query,
        ("searchCriteria[sortOrders][0][field]", sort),
        ("searchCriteria[sortOrders][0][direction]", "ASC"),
        ("searchCriteria[pageSize]", str(size)),
        ("searchCriteria[currentPage]", str(page)),
    )


def get(path: str, query: tuple[tuple[str, str], ...] = ()) -> ReceivedRequest:
    return ReceivedRequest("GET", LEGACY + path, query, None)


def search(skus: list[str]) -> ReceivedRequest:
    """The product search a write reads back (and re-reads) its batch with."""
    wanted = (("sku", ",".join(sorted(skus)), "in"),)
    return get("/products", page_query(1, filters=wanted))


def put_stock(sku_segment: str, managed: bool, qty: int) -> ReceivedRequest:
    body = {
        "stockItem": {
            "use_config_manage_stock": False,
            "manage_stock": managed,
            "qty": qty,
            "is_in_stock": not (managed and qty <= 0),
        }
    }
    path = f"{LEGACY}/products/{sku_segment}/stockItems/1"
    return ReceivedRequest("PUT", path, (), body)


def moved(sku: str, quantity_after: int) -> ItemOutcome:
    """The outcome of an item the re-read found moved since the plan's read."""
    message = "changed on the channel since it was read; not overwritten"
    return ItemOutcome(
        sku, Outcome.STALE, message=message, quantity_after=quantity_after
    )


def change(sku: str, quantity: int, expected: int) -> DesiredChange:
    return DesiredChange(sku, sku, True, quantity, True, expected)


# --- reading -------------------------------------------------------------------


def test_reads_1200_skus_in_four_sorted_pages() -> None:
    emulator = catalog(1200)

    counts: list[int] = []

    snapshot = adapter_for(emulator).read(on_page=counts.append)

    assert counts == [300, 600, 900, 1200]
    assert emulator.requests == [get("/products", page_query(n)) for n in (1, 2, 3, 4)]
    assert len(snapshot.items) == 1200
    assert snapshot.casefold is True
    assert snapshot.get("sku-00042") == ChannelItem(
        "SKU-00042", "SKU-00042", True, 10, True
    )


def test_repeated_last_page_is_never_requested_nor_duplicated() -> None:
    emulator = catalog(301)
    adapter = adapter_for(emulator)

    snapshot = adapter.read()
    past_the_end = adapter._call("GET", "/products", what="probe", params=page_query(3))

    assert [r.query for r in emulator.requests] == [
        page_query(1),
        page_query(2),
        page_query(3),
    ]
    assert [item["sku"] for item in past_the_end["items"]] == ["SKU-00301"]
    assert sorted(item.sku for item in snapshot.items.values()) == [
        f"SKU-{n:05d}" for n in range(1, 302)
    ]


def test_unmanaged_by_config_and_parents_are_read_as_such() -> None:
    emulator = MagentoEmulator("eu", manage_stock_default=False)
    emulator.add_product("CFG-1", type_id="configurable", use_config_manage_stock=True)
    emulator.add_product("plain-1", 4, use_config_manage_stock=True)

    snapshot = adapter_for(emulator, manage_stock_default=False).read()

    assert snapshot.items == {
        "cfg-1": ChannelItem(
            "CFG-1",
            "CFG-1",
            False,
            None,
            None,
            problem=ItemProblem.NOT_WRITABLE,
            detail="configurable product: Magento keeps no quantity of its own",
        ),
        "plain-1": ChannelItem("plain-1", "plain-1", False, 4, True),
    }


def test_reads_given_skus_with_one_in_filter_any_case() -> None:
    emulator = catalog(5)

    snapshot = adapter_for(emulator).read(["sku-00002", "SKU-00004"])

    wanted = (("sku", "SKU-00004,sku-00002", "in"),)
    assert emulator.requests == [get("/products", page_query(1, filters=wanted))]
    assert sorted(snapshot.items) == ["sku-00002", "sku-00004"]


def test_reads_msi_source_items_of_the_configured_source() -> None:
    emulator = catalog(3, sources=("default", "eu-west"))
    emulator.set_source_quantity("SKU-00002", "eu-west", 6)

    counts: list[int] = []

    snapshot = adapter_for(emulator, source="eu-west").read(on_page=counts.append)

    query = page_query(1, sort="sku", filters=(("source_code", "eu-west", "eq"),))
    assert emulator.requests == [
        get("/products", page_query(1)),
        get("/inventory/source-items", query),
    ]
    assert list(snapshot.items.values()) == [
        ChannelItem("SKU-00002", "SKU-00002", True, 6, True)
    ]
    assert counts == [3, 4]  # three products' flags, then one source item


def test_msi_items_take_their_product_s_manage_stock_flag() -> None:
    emulator = MagentoEmulator("eu", sources=("default",), manage_stock_default=False)
    emulator.add_product("OWN-NO", 3, use_config_manage_stock=False, manage_stock=False)
    emulator.add_product("OWN-YES", 0, use_config_manage_stock=False, manage_stock=True)
    emulator.add_product("BY-CONFIG", 2, use_config_manage_stock=True)

    adapter = adapter_for(emulator, source="default", manage_stock_default=False)
    snapshot = adapter.read()
    subset = adapter.read(["own-yes"])

    assert {item.sku: item.managed for item in snapshot.items.values()} == {
        "OWN-NO": False,
        "OWN-YES": True,
        "BY-CONFIG": False,
    }
    assert snapshot.get("OWN-YES") == ChannelItem("OWN-YES", "OWN-YES", True, 0, False)
    assert list(subset.items) == ["own-yes"]
    assert subset.get("own-yes") == snapshot.get("OWN-YES")


# --- writing, legacy ---------------------------------------------------------------


def test_batch_with_two_refusals_applies_the_rest_and_retries_none() -> None:
    emulator = catalog(4)
    emulator.faults.refusals = {
        "SKU-00002": ("400", "Item %sku is locked by the ERP import"),
        "SKU-00003": ("422", "Stock of %sku cannot change today"),
    }
    changes = [change(f"SKU-0000{n}", 3, 10) for n in (1, 2, 3, 4)]

    outcomes = adapter_for(emulator).write(changes)

    assert outcomes == [
        ItemOutcome("SKU-00001", Outcome.APPLIED, quantity_after=3),
        ItemOutcome(
            "SKU-00002",
            Outcome.REFUSED,
            "400",
            "Item SKU-00002 is locked by the ERP import",
        ),
        ItemOutcome(
            "SKU-00003",
            Outcome.REFUSED,
            "422",
            "Stock of SKU-00003 cannot change today",
        ),
        ItemOutcome("SKU-00004", Outcome.APPLIED, quantity_after=3),
    ]
    assert emulator.requests == [
        put_stock("SKU-00001", True, 3),
        put_stock("SKU-00002", True, 3),
        put_stock("SKU-00003", True, 3),
        put_stock("SKU-00004", True, 3),
        search(["SKU-00001", "SKU-00004"]),
    ]
    assert emulator.stock() == {
        "SKU-00001": 3,
        "SKU-00002": 10,
        "SKU-00003": 10,
        "SKU-00004": 3,
    }


@pytest.mark.parametrize(
    "sell",
    [
        pytest.param(lambda e: e.set_quantity("SKU-00001", 8), id="sale-after-read"),
        pytest.param(
            lambda e: e.faults.concurrent_sales.update({"sku-00001": 2}),
            id="sale-landing-at-recheck",
        ),
    ],
)
def test_with_recheck_a_value_moved_since_the_read_is_stale_and_kept(sell) -> None:  # type: ignore[no-untyped-def]
    emulator = catalog(1)
    adapter = adapter_for(emulator, recheck=True)
    item = adapter.read().get("SKU-00001")
    assert item is not None
    emulator.clear_log()
    sell(emulator)

    outcomes = adapter.write([change("SKU-00001", 25, item.quantity or 0)])

    assert outcomes == [
        ItemOutcome(
            "SKU-00001",
            Outcome.STALE,
            message="changed on the channel since it was read; not overwritten",
            quantity_after=8,
        )
    ]
    assert emulator.requests == [search(["SKU-00001"])]
    assert emulator.quantity("SKU-00001") == 8


def test_without_recheck_the_hub_s_value_is_written_over_a_sale() -> None:
    emulator = catalog(1)
    adapter = adapter_for(emulator)
    item = adapter.read().get("SKU-00001")
    assert item is not None
    emulator.clear_log()
    emulator.set_quantity("SKU-00001", 8)

    outcomes = adapter.write([change("SKU-00001", 25, item.quantity or 0)])

    assert outcomes == [ItemOutcome("SKU-00001", Outcome.APPLIED, quantity_after=25)]
    assert emulator.requests == [
        put_stock("SKU-00001", True, 25),
        search(["SKU-00001"]),
    ]
    assert emulator.quantity("SKU-00001") == 25


def test_a_200_that_stored_nothing_is_found_by_reading_back() -> None:
    emulator = MagentoEmulator("eu")
    emulator.add_product("CFG-1", type_id="configurable")

    outcomes = adapter_for(emulator).write([change("CFG-1", 5, 0)])

    assert outcomes == [
        ItemOutcome(
            "CFG-1",
            Outcome.FAILED,
            message=(
                "Magento answered 200 but stored nothing: reading back gives qty 0, "
                "managed true (a product without its own quantity, or stock "
                "unmanaged by config)"
            ),
            quantity_after=0,
        )
    ]
    assert emulator.requests == [
        put_stock("CFG-1", True, 5),
        search(["CFG-1"]),
    ]


def test_skus_with_reserved_characters_are_url_encoded() -> None:
    emulator = MagentoEmulator("eu")
    emulator.add_product("AB/12 X#?%", 1)

    outcomes = adapter_for(emulator).write([change("AB/12 X#?%", 2, 1)])

    segment = "AB%2F12%20X%23%3F%25"
    assert [o.outcome for o in outcomes] == [Outcome.APPLIED]
    assert emulator.requests == [
        put_stock(segment, True, 2),
        search(["AB/12 X#?%"]),
    ]


def test_unmanaging_an_item_sends_all_four_fields_keeping_its_qty() -> None:
    emulator = catalog(1)
    unmanage = DesiredChange("SKU-00001", "SKU-00001", False, None, True, 10)

    emulator.set_quantity("SKU-00001", 7)  # a sale after the plan read 10

    outcomes = adapter_for(emulator).write([unmanage])

    assert outcomes == [ItemOutcome("SKU-00001", Outcome.APPLIED, quantity_after=7)]
    assert emulator.requests == [
        search(["SKU-00001"]),
        put_stock("SKU-00001", False, 7),
        search(["SKU-00001"]),
    ]


# --- errors and retries ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "text"),
    [
        pytest.param(
            {"message": 'Product with SKU "%1" does not exist', "parameters": ["X-1"]},
            'Product with SKU "X-1" does not exist',
            id="list-of-strings",
        ),
        pytest.param(
            {
                "message": "No such entity with %fieldName = %fieldValue",
                "parameters": [{"fieldName": "sku", "fieldValue": "X-1"}],
            },
            "No such entity with sku = X-1",
            id="list-of-objects",
        ),
        pytest.param(
            {
                "message": "The consumer isn't authorized to access %resources.",
                "parameters": {"resources": "Magento_Catalog::products"},
            },
            "The consumer isn't authorized to access Magento_Catalog::products.",
            id="name-value-map",
        ),
        pytest.param(
            {
                "message": "Validation Failed",
                "errors": [{"message": "%1 bad", "parameters": ["qty"]}],
            },
            "Validation Failed; qty bad",
            id="nested-errors",
        ),
        pytest.param({"message": "Left %2 alone"}, "Left %2 alone", id="no-parameters"),
    ],
)
def test_error_bodies_are_substituted(body: object, text: str) -> None:
    assert render_error(body) == text


@pytest.mark.parametrize(
    ("recheck", "refusal", "first_requests"),
    [
        pytest.param(
            True,
            ItemOutcome(
                "GONE-1",
                Outcome.REFUSED,
                "not_found",
                "not found on the channel when re-read before writing; not written",
            ),
            [search(["GONE-1", "SKU-00001"])],
            id="recheck-finds-it-gone",
        ),
        pytest.param(
            False,
            ItemOutcome(
                "GONE-1",
                Outcome.REFUSED,
                "404",
                'Product with SKU "GONE-1" does not exist',
            ),
            [put_stock("GONE-1", True, 1)],
            id="magento-refuses-it",
        ),
    ],
)
def test_an_unknown_sku_is_refused_and_the_rest_written(
    recheck: bool, refusal: ItemOutcome, first_requests: list[ReceivedRequest]
) -> None:
    emulator = catalog(1)

    outcomes = adapter_for(emulator, recheck=recheck).write(
        [change("GONE-1", 1, 0), change("SKU-00001", 4, 10)]
    )

    assert outcomes == [
        refusal,
        ItemOutcome("SKU-00001", Outcome.APPLIED, quantity_after=4),
    ]
    assert emulator.requests == [
        *first_requests,
        put_stock("SKU-00001", True, 4),
        search(["SKU-00001"]),
    ]
    assert emulator.stock() == {"SKU-00001": 4}


def test_401_refuses_the_whole_store_without_showing_the_token() -> None:
    emulator = catalog(1, token="right-token")

    with pytest.raises(ChannelRefused) as raised:
        adapter_for(emulator, token="wrong-secret-token").read()

    assert str(raised.value) == (
        "magento-eu: Magento refused the credentials (HTTP 401): The consumer isn't "
        "authorized to access Magento_CatalogInventory::cataloginventory."
    )
    assert "wrong-secret-token" not in str(raised.value)
    assert len(emulator.requests) == 1


def test_throttled_reads_wait_exactly_the_retry_after() -> None:
    clock = FakeClock()
    emulator = catalog(900, rate_limit=2, rate_window=3.0, clock=clock)

    snapshot = adapter_for(emulator, clock=clock).read()

    assert len(snapshot.items) == 900
    # pages 1-2 fit the first window; page 3 is refused at t=0 with
    # Retry-After 3, then fits the window opening at t=3.
    assert clock.waits == [3.0]
    assert [r.query for r in emulator.requests] == [
        page_query(1),
        page_query(2),
        page_query(3),
        page_query(3),
    ]


def test_a_5xx_is_retried_after_the_first_backoff_step() -> None:
    clock = FakeClock()
    emulator = catalog(2)
    emulator.faults.server_errors = 1

    snapshot = adapter_for(emulator, clock=clock).read()

    assert len(snapshot.items) == 2
    assert clock.waits == [0.5]
    assert emulator.requests == [get("/products", page_query(1))] * 2


def test_a_store_down_after_every_retry_defers_every_item() -> None:
    clock = FakeClock()
    emulator = catalog(2)
    emulator.faults.dropped = 3
    emulator.faults.timeouts = 3

    outcomes = adapter_for(emulator, clock=clock).write(
        [change("SKU-00001", 1, 10), change("SKU-00002", 1, 10)]
    )

    assert [(o.sku, o.outcome, o.code) for o in outcomes] == [
        ("SKU-00001", Outcome.DEFERRED, "ChannelUnavailable"),
        ("SKU-00002", Outcome.DEFERRED, "ChannelUnavailable"),
    ]
    assert clock.waits == list(Backoff().delays)
    assert emulator.requests == [put_stock("SKU-00001", True, 1)] * 6
    assert emulator.stock() == {"SKU-00001": 10, "SKU-00002": 10}


def test_a_read_that_keeps_failing_raises_unavailable() -> None:
    emulator = catalog(1)
    emulator.faults.server_errors = 6

    with pytest.raises(ChannelUnavailable, match="HTTP 503: Service Unavailable"):
        adapter_for(emulator).read()


# --- writing, MSI ---------------------------------------------------------------------


def source_post(skus: list[str], quantity: int) -> ReceivedRequest:
    items = [
        {"sku": sku, "source_code": "default", "quantity": quantity, "status": 1}
        for sku in skus
    ]
    return ReceivedRequest(
        "POST", LEGACY + "/inventory/source-items", (), {"sourceItems": items}
    )


def source_check(skus: list[str]) -> ReceivedRequest:
    filters = (("source_code", "default", "eq"), ("sku", ",".join(skus), "in"))
    query = page_query(1, sort="sku", size=len(skus), filters=filters)
    return get("/inventory/source-items", query)


def test_msi_write_of_600_goes_in_batches_of_250_250_100() -> None:
    emulator = catalog(600)
    skus = [f"SKU-{n:05d}" for n in range(1, 601)]

    outcomes = adapter_for(emulator, source="default").write(
        [change(sku, 4, 10) for sku in skus]
    )

    batches = [skus[0:250], skus[250:500], skus[500:600]]
    assert emulator.requests == [source_post(batch, 4) for batch in batches]
    assert {o.outcome for o in outcomes} == {Outcome.APPLIED}
    assert len(outcomes) == 600
    assert emulator.quantity("SKU-00600") == 4  # legacy follows the default source


def test_msi_batch_refused_as_a_whole_is_written_item_by_item() -> None:
    emulator = catalog(3)
    emulator.faults.refusals = {"SKU-00002": ("400", "Source item of %sku is locked")}
    skus = ["SKU-00001", "SKU-00002", "SKU-00003"]

    outcomes = adapter_for(emulator, source="default").write(
        [change(sku, 4, 10) for sku in skus]
    )

    assert outcomes == [
        ItemOutcome("SKU-00001", Outcome.APPLIED, quantity_after=4),
        ItemOutcome(
            "SKU-00002", Outcome.REFUSED, "400", "Source item of SKU-00002 is locked"
        ),
        ItemOutcome("SKU-00003", Outcome.APPLIED, quantity_after=4),
    ]
    assert emulator.requests == [
        source_post(skus, 4),
        source_post(["SKU-00001"], 4),
        source_post(["SKU-00002"], 4),
        source_post(["SKU-00003"], 4),
    ]


def test_msi_with_recheck_leaves_moved_and_unassigned_items_alone() -> None:
    emulator = catalog(3)
    emulator.set_source_quantity("SKU-00002", "default", 7)
    emulator.source_items.pop(("default", "sku-00003"))
    skus = ["SKU-00001", "SKU-00002", "SKU-00003"]

    outcomes = adapter_for(emulator, source="default", recheck=True).write(
        [change(sku, 4, 10) for sku in skus]
    )

    assert outcomes == [
        ItemOutcome("SKU-00001", Outcome.APPLIED, quantity_after=4),
        moved("SKU-00002", 7),
        ItemOutcome(
            "SKU-00003", Outcome.STALE, message="no longer assigned to source default"
        ),
    ]
    assert emulator.requests == [
        source_check(skus),
        search(skus),
        source_post(["SKU-00001"], 4),
    ]
    assert emulator.source_quantity("SKU-00002") == 7
    assert ("default", "sku-00003") not in emulator.source_items


def test_msi_refuses_to_change_manage_stock_and_says_where_it_lives() -> None:
    emulator = catalog(2)
    unmanage = DesiredChange("SKU-00001", "SKU-00001", False, None, True, 10)

    outcomes = adapter_for(emulator, source="default").write(
        [unmanage, change("SKU-00002", 3, 10)]
    )

    assert outcomes == [
        ItemOutcome(
            "SKU-00001",
            Outcome.REFUSED,
            "unsupported",
            "Manage Stock is Yes in Magento but No in the hub; under MSI it is kept "
            "on the product, not on source default, and is not written: set it in "
            "Magento (Advanced Inventory) or the SKU's manage_inventory in the config",
        ),
        ItemOutcome("SKU-00002", Outcome.APPLIED, quantity_after=3),
    ]
    assert emulator.requests == [source_post(["SKU-00002"], 3)]


# --- writing, legacy through the asynchronous bulk endpoint ------------------------

BULK = "/rest/all/async/bulk/V1/products/bySku/stockItems/byItemId"


def bulk_put(skus: list[str], qty: int) -> ReceivedRequest:
    body = [
        {
            "productSku": sku,
            "itemId": "1",
            "stockItem": {
                "use_config_manage_stock": False,
                "manage_stock": True,
                "qty": qty,
                "is_in_stock": qty > 0,
            },
        }
        for sku in skus
    ]
    return ReceivedRequest("PUT", BULK, (), body)


def bulk_status(number: int) -> ReceivedRequest:
    uuid = str(UUID(int=number, version=4))
    return ReceivedRequest("GET", f"{LEGACY}/bulk/{uuid}/status", (), None)


def test_bulk_write_of_2600_goes_in_two_bulks_read_back_a_page_at_a_time() -> None:
    clock = FakeClock()
    emulator = catalog(2600)
    skus = [f"SKU-{n:05d}" for n in range(1, 2601)]

    outcomes = adapter_for(emulator, bulk=True, clock=clock).write(
        [change(sku, 4, 10) for sku in skus]
    )

    expected: list[ReceivedRequest] = []
    for number, batch in enumerate([skus[0:2000], skus[2000:]], 1):
        expected += [bulk_put(batch, 4), bulk_status(number)]
        expected += [search(batch[n : n + 300]) for n in range(0, len(batch), 300)]
    assert emulator.requests == expected
    assert len(expected) == 2 + 7 + 2 + 2
    assert outcomes == [
        ItemOutcome(sku, Outcome.APPLIED, quantity_after=4) for sku in skus
    ]
    assert clock.waits == [0.5, 0.5]
    assert set(emulator.stock().values()) == {4}


def test_bulk_operations_failed_or_stored_nothing_get_their_own_outcome() -> None:
    emulator = catalog(3)
    emulator.add_product("CFG-1", type_id="configurable")
    emulator.faults.refusals = {"SKU-00002": ("422", "Stock of %sku is frozen")}
    emulator.retriable_failures = {"SKU-00003": "Lock wait timeout exceeded"}
    changes = [change(sku, 4, 10) for sku in ("SKU-00001", "SKU-00002")]
    changes += [change("SKU-00003", 4, 10), change("CFG-1", 4, 0)]

    outcomes = adapter_for(emulator, bulk=True).write(changes)

    assert outcomes == [
        ItemOutcome("SKU-00001", Outcome.APPLIED, quantity_after=4),
        ItemOutcome(
            "SKU-00002", Outcome.REFUSED, "422", "Stock of SKU-00002 is frozen"
        ),
        ItemOutcome(
            "SKU-00003",
            Outcome.DEFERRED,
            "retriable",
            f"bulk {UUID(int=1, version=4)}: retriably failed: "
            "Lock wait timeout exceeded",
        ),
        ItemOutcome(
            "CFG-1",
            Outcome.FAILED,
            message=(
                "Magento answered 200 but stored nothing: reading back gives qty 0, "
                "managed true (a product without its own quantity, or stock "
                "unmanaged by config)"
            ),
            quantity_after=0,
        ),
    ]
    assert emulator.requests[-1] == search(["CFG-1", "SKU-00001"])
    assert emulator.stock() == {
        "SKU-00001": 4,
        "SKU-00002": 10,
        "SKU-00003": 10,
        "CFG-1": 0,
    }


def test_bulk_waits_for_a_slow_consumer_on_the_poll_schedule() -> None:
    clock = FakeClock()
    emulator = catalog(2, bulk_consumer_polls=2)
    changes = [change("SKU-00001", 4, 10), change("SKU-00002", 5, 10)]

    outcomes = adapter_for(emulator, bulk=True, clock=clock).write(changes)

    assert [o.outcome for o in outcomes] == [Outcome.APPLIED, Outcome.APPLIED]
    assert clock.waits == [0.5, 1.0, 2.0]
    assert [r.method for r in emulator.requests] == ["PUT"] + ["GET"] * 4
    assert emulator.requests[1:4] == [bulk_status(1)] * 3


def test_bulk_without_a_consumer_is_deferred_after_the_last_poll() -> None:
    clock = FakeClock()
    emulator = catalog(1, bulk_consumer_polls=None)
    poll = Backoff(delays=(1.0, 2.0), attempts=3)
    adapter = adapter_for(emulator, bulk=True, clock=clock)
    adapter._bulk_poll = poll

    outcomes = adapter.write([change("SKU-00001", 4, 10)])

    assert outcomes == [
        ItemOutcome(
            "SKU-00001",
            Outcome.DEFERRED,
            "open",
            f"bulk {UUID(int=1, version=4)}: still queued after every status poll; "
            "is Magento's consumer (async.operations.all) running?",
        )
    ]
    assert clock.waits == [1.0, 2.0, 2.0]
    assert emulator.requests == [bulk_put(["SKU-00001"], 4), *[bulk_status(1)] * 3]
    assert emulator.quantity("SKU-00001") == 10


def test_bulk_with_recheck_sends_only_unmoved_items() -> None:
    emulator = catalog(2)
    emulator.set_quantity("SKU-00002", 7)

    outcomes = adapter_for(emulator, bulk=True, recheck=True).write(
        [change("SKU-00001", 4, 10), change("SKU-00002", 4, 10)]
    )

    assert outcomes == [
        ItemOutcome("SKU-00001", Outcome.APPLIED, quantity_after=4),
        moved("SKU-00002", 7),
    ]
    assert emulator.requests[1] == bulk_put(["SKU-00001"], 4)
    assert emulator.quantity("SKU-00002") == 7


def test_a_source_holding_none_of_the_products_is_a_config_error() -> None:
    emulator = catalog(3, sources=("default", "eu-west"))

    with pytest.raises(ChannelConfigError) as raised:
        adapter_for(emulator, source="eu-wset").read()
    given = adapter_for(emulator, source="eu-west").read(["SKU-00001"])

    assert str(raised.value) == (
        "magento-eu: source 'eu-wset' holds none of the 3 products of the store; "
        "is channel.source the code of one of its MSI sources?"
    )
    assert given.items == {}

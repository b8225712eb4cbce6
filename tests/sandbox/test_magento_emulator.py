"""The Magento emulator's seeding, persistence and server behaviours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox.base import SeedProblem
from reconciler.sandbox.magento import MagentoEmulator
from tests.conftest import require_shared

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "magento"


def call(
    emulator: MagentoEmulator, method: str, path: str, **options: Any
) -> httpx.Response:
    request = httpx.Request(method, f"http://eu.invalid/rest/all/V1{path}", **options)
    return emulator.handle(request)


def test_seeds_the_real_sample_catalog() -> None:
    csv_path = require_shared("data/magento-sample-products.csv")

    emulator, problems = MagentoEmulator.from_export("eu", csv_path)

    types = [item.type_id for item in emulator.items.values()]
    assert problems == []
    assert (len(types), types.count("configurable")) == (1994, 147)
    assert emulator.quantity("mh01-xs-black") == 100
    assert len(emulator.source_items) == 1847


def test_messy_export_seeds_valid_rows_and_reports_the_rest() -> None:
    emulator, problems = MagentoEmulator.from_export(
        "eu", FIXTURES / "messy-catalog.csv"
    )

    assert emulator.stock() == {
        "00123": 7,
        "WB-01": 12,
        "OVER-1": -2,
        "PARENT-1": 0,
    }
    assert problems == [
        SeedProblem(5, "empty SKU"),
        SeedProblem(6, "duplicate SKU 'WB-01' (first row kept)"),
        SeedProblem(7, "duplicate SKU 'wb-01' (first row kept)"),
        SeedProblem(9, "SKU 'BAD-QTY': qty 'twelve' is not a number"),
        SeedProblem(10, "SKU 'NO-QTY': empty qty"),
        SeedProblem(11, "store view row for SKU 'WB-01': carries no stock"),
        SeedProblem(14, "SKU 'FLAG-1': is_in_stock 'maybe' is not 0 or 1"),
    ]


def test_quantities_python_reads_but_an_import_refuses_are_skipped(
    tmp_path: Path,
) -> None:
    export = tmp_path / "catalog.csv"
    rows = ["sku,qty", "ARABIC,\u0661\u0662", "UNDER,1_000", "INF,inf", "NAN,nan"]
    rows += ["HUGE,1e400", "SCI,2e1", "DOT,.5", "PLUS,+3"]
    export.write_text("\n".join(rows) + "\n", encoding="utf-8")

    emulator, problems = MagentoEmulator.from_export("eu", export)

    assert emulator.stock() == {"SCI": 20, "DOT": 0.5, "PLUS": 3}
    assert problems == [
        SeedProblem(2, "SKU 'ARABIC': qty '\u0661\u0662' is not a number"),
        SeedProblem(3, "SKU 'UNDER': qty '1_000' is not a number"),
        SeedProblem(4, "SKU 'INF': qty 'inf' is not a number"),
        SeedProblem(5, "SKU 'NAN': qty 'nan' is not a number"),
        SeedProblem(6, "SKU 'HUGE': qty '1e400' is not a number"),
    ]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    emulator = MagentoEmulator("eu", sources=("default", "eu-west"))
    emulator.add_product("A-1", 3)
    emulator.set_source_quantity("A-1", "eu-west", 9)

    emulator.save(tmp_path)
    loaded = MagentoEmulator.load("eu", tmp_path)

    assert loaded.items == emulator.items
    assert loaded.source_items == emulator.source_items
    assert loaded.sources == ("default", "eu-west")
    assert [p.name for p in tmp_path.iterdir()] == ["magento.json"]


@pytest.mark.parametrize(
    ("setup", "body", "after"),
    [
        pytest.param(
            {"qty": 5},
            {"qty": 0},
            (0.0, False, 1),
            id="managed-qty-at-min-forces-out-of-stock",
        ),
        pytest.param(
            {"qty": 5, "use_config_manage_stock": True},
            {"qty": 9, "is_in_stock": True},
            (5.0, True, 0),
            id="unmanaged-by-config-stores-no-qty",
        ),
        pytest.param(
            {"type_id": "configurable"},
            {"qty": 9, "is_in_stock": True},
            (0.0, True, 0),
            id="configurable-keeps-qty-0",
        ),
        pytest.param(
            {"qty": 0, "is_in_stock": False},
            {"qty": 4},
            (4.0, False, 0),
            id="partial-body-merges-and-never-turns-stock-back-in",
        ),
    ],
)
def test_stock_item_put_behaves_like_magento(
    setup: dict[str, Any], body: dict[str, Any], after: tuple[float, bool, int]
) -> None:
    emulator = MagentoEmulator("eu", manage_stock_default=False)
    emulator.add_product("A-1", **setup)

    response = call(
        emulator, "PUT", "/products/a-1/stockItems/77", json={"stockItem": body}
    )

    item = emulator.items["a-1"]
    assert (response.status_code, response.json()) == (200, 1)
    assert (item.qty, item.is_in_stock, item.stock_status_changed_auto) == after


def test_unknown_sku_answers_404_in_magentos_shape() -> None:
    response = call(MagentoEmulator("eu"), "GET", "/stockItems/NOPE%2F1")

    assert response.status_code == 404
    assert response.json() == {
        "message": 'Product with SKU "%1" does not exist',
        "parameters": ["NOPE/1"],
    }


def test_unknown_source_fails_the_whole_save_with_object_parameters() -> None:
    emulator = MagentoEmulator("eu")
    emulator.add_product("A-1", 3)
    items = [
        {"sku": "A-1", "source_code": "default", "quantity": 1, "status": 1},
        {"sku": "A-1", "source_code": "mars", "quantity": 1, "status": 1},
    ]

    response = call(
        emulator, "POST", "/inventory/source-items", json={"sourceItems": items}
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "Could not save Source Item: %fieldName %fieldValue is unknown",
        "parameters": [{"fieldName": "source_code", "fieldValue": "mars"}],
    }
    assert emulator.quantity("A-1") == 3


def test_default_source_and_legacy_stock_are_coupled() -> None:
    emulator = MagentoEmulator("eu")
    emulator.add_product("A-1", 3)
    item = {"sku": "a-1", "source_code": "DEFAULT", "quantity": 0, "status": 0}

    call(emulator, "POST", "/inventory/source-items", json={"sourceItems": [item]})
    first = (emulator.quantity("A-1"), emulator.items["a-1"].is_in_stock)
    call(emulator, "PUT", "/products/A-1/stockItems/1", json={"stockItem": {"qty": 6}})

    assert first == (0.0, False)
    assert emulator.source_quantity("A-1") == 6


def page(emulator: MagentoEmulator, number: int, *, sort: bool) -> list[str]:
    params = {
        "searchCriteria[pageSize]": "2",
        "searchCriteria[currentPage]": str(number),
    }
    if sort:
        params["searchCriteria[sortOrders][0][field]"] = "sku"
    response = call(emulator, "GET", "/products", params=params)
    return [row["sku"] for row in response.json()["items"]]


def test_pages_past_the_end_repeat_the_last_page() -> None:
    emulator = MagentoEmulator("eu")
    for sku in ("C", "A", "E", "B", "D"):
        emulator.add_product(sku, 1)

    pages = [page(emulator, number, sort=True) for number in (1, 2, 3, 4, 9)]

    assert pages == [["A", "B"], ["C", "D"], ["E"], ["E"], ["E"]]


def test_without_sort_orders_pages_come_in_no_stable_order() -> None:
    emulator = MagentoEmulator("eu")
    for number in range(40):
        emulator.add_product(f"S-{number:02d}", 1)

    seen = [
        sku for number in range(1, 21) for sku in page(emulator, number, sort=False)
    ]

    assert len(seen) == 40
    assert len(set(seen)) < 40  # some SKUs repeat, so others are missed


def test_rate_limit_answers_429_with_retry_after() -> None:
    from reconciler.clock import FakeClock

    clock = FakeClock()
    emulator = MagentoEmulator("eu", rate_limit=1, rate_window=2.0, clock=clock)
    emulator.add_product("A-1", 1)

    statuses = [call(emulator, "GET", "/stockItems/A-1") for _ in range(2)]
    clock.sleep(2.0)
    again = call(emulator, "GET", "/stockItems/A-1")

    assert [r.status_code for r in statuses] == [200, 429]
    assert statuses[1].headers["Retry-After"] == "2"
    assert statuses[1].json() == {"message": "Too many requests. Retry later."}
    assert again.status_code == 200


BULK = "/rest/all/async/bulk/V1/products/bySku/stockItems/byItemId"


def test_bulk_rejects_malformed_entries_and_fails_unknown_skus_when_consumed() -> None:
    emulator = MagentoEmulator("eu", bulk_consumer_polls=1)
    emulator.add_product("A-1", 3)
    entries = [
        {"productSku": "A-1", "itemId": "1", "stockItem": {"qty": 8}},
        {"productSku": "A-1", "itemId": "1", "stockItem": {"qty": "eight"}},
        {"productSku": "NOPE", "itemId": "1", "stockItem": {"qty": 1}},
    ]
    request = httpx.Request("PUT", f"http://eu.invalid{BULK}", json=entries)

    accepted = emulator.handle(request).json()
    uuid = accepted["bulk_uuid"]
    polls = [call(emulator, "GET", f"/bulk/{uuid}/status").json() for _ in (1, 2)]

    assert [(i["id"], i["status"]) for i in accepted["request_items"]] == [
        (0, "accepted"),
        (1, "rejected"),
        (2, "accepted"),
    ]
    assert accepted["errors"] is True
    assert accepted["request_items"][1]["error_message"] == (
        'The "eight" value\'s type is invalid. The "qty" type was expected.'
    )
    assert [[op["status"] for op in p["operations_list"]] for p in polls] == [
        [4, 4],
        [1, 3],
    ]
    assert polls[1]["operations_list"][1] == {
        "id": 2,
        "status": 3,
        "result_message": 'Product with SKU "NOPE" does not exist',
        "error_code": 0,
    }
    assert emulator.quantity("A-1") == 8


def test_status_of_an_unknown_bulk_answers_400() -> None:
    response = call(MagentoEmulator("eu"), "GET", "/bulk/no-such-uuid/status")

    assert (response.status_code, response.json()) == (
        400,
        {
            "message": "Bulk uuid %bulkUuid not exist",
            "parameters": {"bulkUuid": "no-such-uuid"},
        },
    )

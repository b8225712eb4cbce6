"""Ground truth: every request the Shopify adapter sends, against real schemas.

The adapter runs a read and a write that reach every document it can send
(locations, stock pages with and without a SKU search, ``inventoryItemUpdate``,
``inventorySetQuantities``, ``inventoryActivate``); each request received by
the emulator is then validated, document and variables, against Shopify's
stored Admin schema of that version (../shared/reference/shopify/).
"""

from __future__ import annotations

import copy
import functools
import gzip
import json
from typing import Any, cast

import httpx
import pytest
from graphql import (
    GraphQLSchema,
    IntrospectionQuery,
    OperationDefinitionNode,
    build_client_schema,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from reconciler.channels.base import DesiredChange
from reconciler.channels.shopify import ShopifyAdapter
from reconciler.clock import FakeClock
from reconciler.config.model import ShopifyChannel
from reconciler.sandbox.base import ReceivedRequest, transport_for
from reconciler.sandbox.shopify import ShopifyEmulator
from tests.conftest import require_shared

STORED = ["2024-07", "2024-10", "2025-01"]


@functools.cache
def introspection(version: str) -> dict[str, Any]:
    path = require_shared(f"reference/shopify/admin_schema_{version}.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)["data"]
    return data


@functools.cache
def schema(version: str) -> GraphQLSchema:
    return build_client_schema(cast(IntrospectionQuery, introspection(version)))


@functools.cache
def schema_2026_04() -> GraphQLSchema:
    """The newest stored schema with the 2026-04 changelog amendments applied.

    channel-apis.md section 1.3: 2026-01 adds ``changeFromQuantity: Int`` to
    ``InventoryQuantityInput``; 2026-04 removes ``compareQuantity`` from it and
    ``ignoreCompareQuantity`` from ``InventorySetQuantitiesInput``; the
    ``@idempotent(key: String!)`` directive goes on mutation fields.
    """
    data = copy.deepcopy(introspection("2025-01"))
    types = {entry["name"]: entry for entry in data["__schema"]["types"]}
    quantity = types["InventoryQuantityInput"]
    quantity["inputFields"] = [
        f for f in quantity["inputFields"] if f["name"] != "compareQuantity"
    ]
    quantity["inputFields"].append(_input_field("changeFromQuantity", _named("Int")))
    set_input = types["InventorySetQuantitiesInput"]
    set_input["inputFields"] = [
        f for f in set_input["inputFields"] if f["name"] != "ignoreCompareQuantity"
    ]
    data["__schema"]["directives"].append(
        {
            "name": "idempotent",
            "description": "Makes a mutation safe to retry with the same key.",
            "locations": ["FIELD"],
            "args": [
                _input_field(
                    "key",
                    {"kind": "NON_NULL", "name": None, "ofType": _named("String")},
                )
            ],
            "isRepeatable": False,
        }
    )
    return build_client_schema(cast(IntrospectionQuery, data))


def _named(name: str) -> dict[str, Any]:
    return {"kind": "SCALAR", "name": name, "ofType": None}


def _input_field(name: str, kind: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "description": None,
        "type": kind,
        "defaultValue": None,
        "isDeprecated": False,
        "deprecationReason": None,
    }


def sent_requests(version: str) -> list[ReceivedRequest]:
    """Everything the adapter sends for a read and a write on ``version``."""
    clock = FakeClock()
    shop = ShopifyEmulator("us", clock=clock)
    loose = shop.add_variant("LOOSE", quantity=0, tracked=False)
    away = shop.add_variant("AWAY", quantity=None)
    channel = ShopifyChannel(
        endpoint="sandbox://us",
        api_version=version,
        location="Main warehouse",
        token_env=None,
        activate_unstocked=True,
    )
    client = httpx.Client(transport=transport_for(shop), base_url=channel.endpoint)
    adapter = ShopifyAdapter("us", channel, client, token="t", clock=clock)
    adapter.read()
    adapter.read(["LOOSE"])
    adapter.write(
        [_change(loose.item_id, "LOOSE", 0), _change(away.item_id, "AWAY", None)]
    )
    return shop.requests


def _change(item_id: int, sku: str, expected: int | None) -> DesiredChange:
    return DesiredChange(
        sku=sku,
        ref=f"gid://shopify/InventoryItem/{item_id}",
        managed=True,
        quantity=5,
        expected_managed=sku != "LOOSE",
        expected_quantity=expected,
    )


def problems(target: GraphQLSchema, request: ReceivedRequest) -> list[str]:
    document = parse(request.body["query"])
    found = [error.message for error in validate(target, document)]
    if found:
        return found
    operation = next(
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    )
    coerced = get_variable_values(
        target, operation.variable_definitions, request.body["variables"]
    )
    return [error.message for error in coerced] if isinstance(coerced, list) else []


def operations(requests: list[ReceivedRequest]) -> list[str]:
    return [r.body["query"].split("(", 1)[0] for r in requests]


EXPECTED_OPERATIONS = [
    "query StoreLocations",
    "query StockPage",
    "query StockPage",
    "mutation SetTracked",
    "mutation SetAvailable",
    "mutation ActivateAtLocation",
    "mutation SetAvailable",
]


@pytest.mark.shared
@pytest.mark.parametrize("version", STORED)
def test_every_request_is_valid_on_the_stored_schema(version: str) -> None:
    requests = sent_requests(version)

    assert operations(requests) == EXPECTED_OPERATIONS
    assert {i: problems(schema(version), r) for i, r in enumerate(requests)} == {
        i: [] for i in range(len(requests))
    }


@pytest.mark.shared
def test_2026_04_requests_are_valid_on_the_amended_schema() -> None:
    requests = sent_requests("2026-04")

    assert operations(requests) == EXPECTED_OPERATIONS
    assert [problems(schema_2026_04(), r) for r in requests] == [[]] * len(requests)


@pytest.mark.shared
def test_the_amendments_are_what_tells_the_two_shapes_apart() -> None:
    new_write = sent_requests("2026-04")[-1]
    old_write = sent_requests("2025-01")[-1]

    assert problems(schema("2025-01"), new_write) == [
        "Unknown directive '@idempotent'."
    ]
    assert problems(schema_2026_04(), old_write) == [
        "Variable '$input' got invalid value {'inventoryItemId': "
        "'gid://shopify/InventoryItem/3', 'locationId': 'gid://shopify/Location/1', "
        "'quantity': 5, 'compareQuantity': 0} at 'input.quantities[0]'; Field "
        "'compareQuantity' is not defined by type 'InventoryQuantityInput'. "
        "Did you mean 'quantity'?"
    ]

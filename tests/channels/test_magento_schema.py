"""Every request body the Magento adapter sends, against the stored Swagger.

The bodies come from the emulator's request log of real writes (legacy and
MSI) and are validated with draft-4 JSON Schema against the definitions of
Adobe Commerce 2.4.7 and 2.4.9. ``required`` is dropped from the stock-item
definition: it lists 23 fields, yet the server merges partial bodies and the
schema's ``required`` holds only for responses (channel-apis.md section 3).

The Swagger has no path for the asynchronous bulk endpoint: Magento derives
it from the synchronous route (channel-apis.md section 2.4), its body being an
array of the synchronous body with the route parameters as fields. So each
element of a bulk body is validated against the synchronous PUT's body schema
extended with ``productSku`` and ``itemId``, typed and required as the PUT's
path parameters are. The emulator's bulk status reply is validated against
``asynchronous-operations-data-bulk-operations-status-interface``.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from reconciler.channels.base import DesiredChange
from reconciler.channels.magento import MagentoAdapter
from reconciler.clock import FakeClock
from reconciler.config.model import MagentoChannel
from reconciler.sandbox.base import transport_for
from reconciler.sandbox.magento import MagentoEmulator
from tests.conftest import require_shared

VERSIONS = ["2.4.7", "2.4.9"]
STOCK_ITEM = "catalog-inventory-data-stock-item-interface"
ENDPOINTS = {
    ("PUT", "stockItems"): ("/V1/products/{productSku}/stockItems/{itemId}", "put"),
    ("POST", "source-items"): ("/V1/inventory/source-items", "post"),
}


@functools.cache
def swagger(version: str) -> dict[str, Any]:
    path = require_shared(f"reference/magento/admin-schema-{version}.yaml")
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=yaml.CSafeLoader)
    document["definitions"][STOCK_ITEM].pop("required", None)
    return document


def body_validator(version: str, path: str, method: str) -> Any:
    document = swagger(version)
    parameters = document["paths"][path][method]["parameters"]
    schema = next(p["schema"] for p in parameters if p.get("in") == "body")
    root = {**schema, "definitions": document["definitions"]}
    return jsonschema.Draft4Validator(root)


def bulk_element_validator(version: str) -> Any:
    """The PUT's body with its path parameters as fields, as Magento derives it."""
    path, verb = ENDPOINTS[("PUT", "stockItems")]
    parameters = swagger(version)["paths"][path][verb]["parameters"]
    body = next(p["schema"] for p in parameters if p.get("in") == "body")
    routes = [p for p in parameters if p.get("in") == "path"]
    element = {
        **body,
        "required": [*body["required"], *(p["name"] for p in routes)],
        "properties": {
            **body["properties"],
            **{p["name"]: {"type": p["type"]} for p in routes},
        },
    }
    root = {**element, "definitions": swagger(version)["definitions"]}
    return jsonschema.Draft4Validator(root)


def definition_validator(version: str, name: str) -> Any:
    document = swagger(version)
    root = {"$ref": f"#/definitions/{name}", "definitions": document["definitions"]}
    return jsonschema.Draft4Validator(root)


def sent_bodies(source: str | None, bulk: bool = False) -> list[tuple[str, str, Any]]:
    emulator = MagentoEmulator("eu")
    emulator.add_product("A/1", 5)
    emulator.add_product("B-2", 0)
    channel = MagentoChannel("sandbox://eu", "all", source, token_env=None, bulk=bulk)
    client = httpx.Client(
        base_url="http://eu.invalid", transport=transport_for(emulator)
    )
    adapter = MagentoAdapter("eu", channel, client, token=None, clock=FakeClock())
    adapter.write(
        [
            DesiredChange("A/1", "A/1", True, 0, True, 5),
            DesiredChange("B-2", "B-2", True, 7, True, 0),
        ]
    )
    if source is None:
        adapter.write([DesiredChange("B-2", "B-2", False, None, True, 7)])
    return [
        (
            r.method,
            r.path.rsplit("/", 1)[-1] if r.method == "POST" else "stockItems",
            r.body,
        )
        for r in emulator.requests
        if r.method in ("PUT", "POST")
    ]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("source", [None, "default"], ids=["legacy", "msi"])
def test_every_body_sent_is_valid(version: str, source: str | None) -> None:
    bodies = sent_bodies(source)

    assert len(bodies) == (3 if source is None else 1)
    for method, kind, body in bodies:
        path, verb = ENDPOINTS[(method, kind)]
        errors = [
            e.message for e in body_validator(version, path, verb).iter_errors(body)
        ]
        assert errors == [], body


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("key", "body"),
    [
        pytest.param(("POST", "source-items"), [{"sku": "A"}], id="bare-array"),
        pytest.param(
            ("POST", "source-items"),
            {"sourceItems": [{"sku": "A", "source_code": "default", "quantity": "1"}]},
            id="quantity-as-string",
        ),
        pytest.param(
            ("PUT", "stockItems"), {"stockItem": {"qty": "7"}}, id="qty-string"
        ),
    ],
)
def test_the_validator_rejects_malformed_bodies(
    version: str, key: tuple[str, str], body: Any
) -> None:
    path, verb = ENDPOINTS[key]

    assert not body_validator(version, path, verb).is_valid(body)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_bulk_body_element_is_valid(version: str) -> None:
    bodies = sent_bodies(None, bulk=True)

    elements = [element for _, _, body in bodies for element in body]
    validator = bulk_element_validator(version)
    assert [len(body) for _, _, body in bodies] == [2, 1]
    assert [e.message for el in elements for e in validator.iter_errors(el)] == []


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "element",
    [
        pytest.param({"itemId": "1", "stockItem": {"qty": 1}}, id="no-product-sku"),
        pytest.param(
            {"productSku": "A", "itemId": 1, "stockItem": {}}, id="item-id-number"
        ),
        pytest.param({"productSku": "A", "itemId": "1"}, id="no-stock-item"),
    ],
)
def test_the_bulk_validator_rejects_malformed_elements(
    version: str, element: dict[str, Any]
) -> None:
    assert not bulk_element_validator(version).is_valid(element)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_emulators_bulk_status_reply_is_valid(version: str) -> None:
    emulator = MagentoEmulator("eu")
    emulator.add_product("A-1", 5)
    entries = [{"productSku": "A-1", "itemId": "1", "stockItem": {"qty": 2}}]
    url = "http://eu.invalid/rest/all/async/bulk/V1/products/bySku/stockItems/byItemId"
    uuid = emulator.handle(httpx.Request("PUT", url, json=entries)).json()["bulk_uuid"]

    status = emulator.handle(
        httpx.Request("GET", f"http://eu.invalid/rest/all/V1/bulk/{uuid}/status")
    ).json()

    name = "asynchronous-operations-data-bulk-operations-status-interface"
    validator = definition_validator(version, name)
    assert [e.message for e in validator.iter_errors(status)] == []
    assert status["operations_list"] == [
        {"id": 0, "status": 1, "result_message": "", "error_code": 0}
    ]

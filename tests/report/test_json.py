"""The JSON report: valid against its schema, complete, deterministic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from reconciler.plan.model import Plan
from reconciler.report import render
from reconciler.report.jsonreport import SCHEMA_VERSION, load_schema
from tests.report.plans import (
    STORE_ERRORS,
    empty_plan,
    full_outcomes,
    full_plan,
    in_sync_plan,
    small_plan,
)

VALIDATOR = jsonschema.Draft202012Validator(load_schema())


def change(
    sku: str,
    target: str,
    label: str,
    before: int,
    after: int,
    outcome: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "sku": sku,
        "target": target,
        "label": label,
        "fields": [{"field": "quantity_available", "before": before, "after": after}],
        "managed": True,
        "quantity": after,
        "expected_managed": True,
        "expected_quantity": before,
        "ref": f"ref-{sku}",
        "note": None,
        "outcome": outcome,
    }


def store(name: str, direction: str, **entries: Any) -> dict[str, Any]:
    return {
        "store": name,
        "direction": direction,
        "managed_count": 2,
        "error": None,
        "guard": None,
        "pulls": entries.get("pulls", []),
        "pushes": entries.get("pushes", []),
        "held": [],
        "skipped": [],
    }


SMALL_SUMMARY = {
    "stores": 2,
    "pulls": 1,
    "pushes": 2,
    "held": 0,
    "skipped": 0,
    "conflicts": 0,
    "guards_tripped": 0,
    "stores_stopped": 0,
}


def test_small_plan_as_a_whole_document() -> None:
    document = json.loads(render(small_plan(), "json"))

    assert document == {
        "schema_version": "1",
        "kind": "plan",
        "run_id": None,
        "dry_run": True,
        "created_at": "2025-03-01T09:30:00+00:00",
        "summary": {**SMALL_SUMMARY, "outcomes": None},
        "stores": [
            store(
                "magento-eu",
                "channel_to_hub",
                pulls=[change("MH01-XS-Black", "hub", "drift", 5, 3)],
            ),
            store(
                "shopify-us",
                "hub_to_channel",
                pushes=[
                    change("MH01-XS-Black", "channel", "update", 5, 3),
                    change("MH02-S-Blue", "channel", "update", 7, 3),
                ],
            ),
        ],
        "conflicts": [],
    }


def test_applied_run_carries_outcomes_and_store_errors() -> None:
    outcomes = {
        key: value for key, value in full_outcomes().items() if key[0] == "magento-eu"
    }

    document = json.loads(
        render(
            small_plan(),
            "json",
            outcomes=outcomes,
            store_errors={"shopify-us": "write: channel unavailable"},
            run_id=12,
            dry_run=False,
        )
    )

    applied = {
        "outcome": "applied",
        "code": None,
        "message": None,
        "quantity_after": None,
    }
    never = {**applied, "outcome": "not_attempted"}
    shopify = store(
        "shopify-us",
        "hub_to_channel",
        pushes=[
            change("MH01-XS-Black", "channel", "update", 5, 3, never),
            change("MH02-S-Blue", "channel", "update", 7, 3, never),
        ],
    )
    assert document == {
        "schema_version": "1",
        "kind": "run",
        "run_id": 12,
        "dry_run": False,
        "created_at": "2025-03-01T09:30:00+00:00",
        "summary": {
            **SMALL_SUMMARY,
            "stores_stopped": 1,
            "outcomes": {
                "applied": 1,
                "stale": 0,
                "refused": 0,
                "deferred": 0,
                "failed": 0,
                "not_attempted": 2,
            },
        },
        "stores": [
            store(
                "magento-eu",
                "channel_to_hub",
                pulls=[change("MH01-XS-Black", "hub", "drift", 5, 3, applied)],
            ),
            {**shopify, "error": "write: channel unavailable"},
        ],
        "conflicts": [],
    }


@pytest.mark.parametrize(
    ("plan", "applied"),
    [
        pytest.param(empty_plan(), False, id="empty"),
        pytest.param(in_sync_plan(), False, id="in-sync"),
        pytest.param(small_plan(), False, id="small"),
        pytest.param(full_plan(), False, id="every-kind"),
        pytest.param(full_plan(), True, id="every-kind-applied"),
    ],
)
def test_documents_follow_the_schema(plan: Plan, applied: bool) -> None:
    text = render(
        plan,
        "json",
        outcomes=full_outcomes() if applied else None,
        store_errors=STORE_ERRORS if applied else None,
        run_id=7 if applied else None,
        dry_run=not applied,
    )

    errors = [e.message for e in VALIDATOR.iter_errors(json.loads(text))]
    assert errors == []


def test_every_kind_of_entry_is_in_the_document() -> None:
    document = json.loads(render(full_plan(), "json"))

    stores = {s["store"]: s for s in document["stores"]}
    shopify = stores["shopify-us"]
    assert [s["store"] for s in document["stores"]] == sorted(stores)
    assert [c["sku"] for c in shopify["pushes"]] == [
        "MH01-XS-Black",
        "MS04-M-Blue",
        "MT07-S-Gray",
    ]
    assert shopify["pushes"][1]["note"] == "hub quantity -3 pushed as 0"
    assert [h["sku"] for h in shopify["held"]] == [
        "WB01-S",
        "WB02-S",
        "WB03-S",
        "WB04-S",
        "WB05-S",
        "WB06-S",
    ]
    assert shopify["skipped"] == [
        {"sku": "MJ12-L-Gray", "reason": "conflict", "detail": None},
        {
            "sku": "MP10-32-Black",
            "reason": "not_stocked",
            "detail": "not stocked at Main warehouse",
        },
    ]
    assert stores["shopify-outlet"]["guard"] == {
        "managed": 2,
        "zeroed": 2,
        "changed": 2,
        "max_zeroed": 0.05,
        "max_changed": 0.5,
        "tripped": True,
        "allowed": False,
        "blocks": True,
        "message": "shopify-outlet zeroes 2 of 2 SKUs, over guard.max_zeroed 5%",
    }
    assert document["conflicts"] == [
        {"sku": "MJ12-L-Gray", "stores": ["magento-eu", "shopify-us"]}
    ]


def test_store_order_in_the_plan_does_not_change_the_bytes() -> None:
    plan = full_plan()
    reversed_plan = Plan(
        stores=tuple(reversed(plan.stores)),
        conflicts=plan.conflicts,
        created_at=plan.created_at,
    )

    assert render(plan, "json") == render(reversed_plan, "json")


def test_schema_is_versioned_and_matches_the_documents() -> None:
    schema = load_schema()

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:reconciler:schema:plan:1"
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    jsonschema.Draft202012Validator.check_schema(schema)


def object_schemas(node: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    """Every sub-schema with ``properties``, with a pointer-like location."""
    if isinstance(node, dict):
        if "properties" in node:
            yield where, node
        for key, value in node.items():
            yield from object_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from object_schemas(value, f"{where}/{index}")


def test_every_property_is_described_and_closed() -> None:
    undescribed = [
        f"{where}/{name}"
        for where, node in object_schemas(load_schema())
        for name, prop in node["properties"].items()
        if not prop.get("description")
    ]
    open_objects = [
        where
        for where, node in object_schemas(load_schema())
        if node.get("additionalProperties") is not False
    ]

    assert (undescribed, open_objects) == ([], [])


def test_an_unknown_field_is_refused_by_the_schema() -> None:
    document = json.loads(render(small_plan(), "json"))
    document["stores"][0]["pulls"][0]["surprise"] = 1

    errors = [e.message for e in VALIDATOR.iter_errors(document)]
    assert errors == [
        "Additional properties are not allowed ('surprise' was unexpected)"
    ]

"""A Shopify shop emulator: the Admin GraphQL requests the adapter sends.

It is not a general GraphQL server. It parses each document with graphql-core,
answers the root fields the reconciler uses (``locations``,
``productVariants``, ``inventorySetQuantities``, ``inventoryItemUpdate``,
``inventoryActivate``) shaped by the document's own selections, and answers
anything else with a GraphQL error. The behaviours that matter for inventory
sync follow channel-apis.md sections 1 and 4:

- a cost bucket per shop (``maximum`` 1000 points, ``restore_rate`` 50 per
  second by default, as real answers on standard shops show): each query is
  charged its requested cost (object 1, connection 2 + ``first`` x node,
  mutation 10; no refund of unused points), a query costing more than the
  points left gets a ``THROTTLED`` error (HTTP 200, or 429 with
  ``Retry-After`` when ``throttle_http_status=429``), and every answer
  carries ``extensions.cost`` (unless ``report_cost=False``, to test clients
  against answers without it);
- ``inventorySetQuantities``: at most 250 quantities; ``compareQuantity``
  before 2026-04, ``changeFromQuantity`` from 2026-01 and mandatory from
  2026-04 together with ``@idempotent``, whose replays return the first
  result; the user errors ``COMPARE_QUANTITY_STALE``,
  ``CHANGE_FROM_QUANTITY_STALE``, ``ITEM_NOT_STOCKED_AT_LOCATION``,
  ``NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR`` and the others of the
  reference, each with the ``field`` path of its quantity;
- a call with any user error changes nothing: the reference counts an answer
  with a non-empty ``userErrors`` as a failed mutation, so the emulator makes
  the mutation all-or-nothing, the strictest reading. A client must resend the
  items that were not refused;
- untracked items (``tracked: false``) keep and report their quantity;
- faults: transport faults come from ``EmulatorBase``; ``faults.refusals``
  refuses writes of a SKU with the given code and message, and
  ``faults.concurrent_sales`` sells units of a SKU just before the next
  write of it lands, so its compare-and-set finds the new value.

The shop keeps only the ``available`` quantity per location; ``on_hand``
reads the same figure and the other states read 0.
"""

from __future__ import annotations

import base64
import csv
import json
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from graphql import (
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    value_from_ast_untyped,
)

from reconciler.clock import Clock, SystemClock
from reconciler.errors import ChannelConfigError
from reconciler.sandbox.base import EmulatorBase, SeedProblem
from reconciler.skus import without_apostrophe

T = TypeVar("T")

logger = logging.getLogger(__name__)

Json = dict[str, Any]

VERSIONS = (
    "2024-07",
    "2024-10",
    "2025-01",
    "2025-04",
    "2025-07",
    "2025-10",
    "2026-01",
    "2026-04",
    "2026-07",
    "2026-10",
)
CHANGE_FROM_SINCE = "2026-01"
MANDATORY_SINCE = "2026-04"
MAX_INPUT = 250
MAX_FIRST = 250
MUTATION_COST = 10
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
QUANTITY_LIMIT = 1_000_000_000
POINT_TOLERANCE = 1e-6
"""Float refill rounding never throttles a query that fits."""
MESSAGES = {
    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR": (
        "The combination of inventoryItemId and locationId must be unique."
    ),
    "INVALID_INVENTORY_ITEM": ("The specified inventory item could not be found."),
    "INVALID_LOCATION": ("The specified location could not be found."),
    "ITEM_NOT_STOCKED_AT_LOCATION": (
        "The specified inventory item is not stocked at the location."
    ),
    "INVALID_QUANTITY_TOO_HIGH": ("The quantity can't be higher than 1,000,000,000."),
    "INVALID_QUANTITY_TOO_LOW": ("The quantity can't be lower than -1,000,000,000."),
    "CHANGE_FROM_QUANTITY_STALE": (
        "The changeFromQuantity argument no longer matches the persisted quantity."
    ),
    "COMPARE_QUANTITY_REQUIRED": (
        "The compareQuantity argument must be given to each quantity or ignored "
        "using ignoreCompareQuantity."
    ),
    "COMPARE_QUANTITY_STALE": (
        "The compareQuantity argument no longer matches the persisted quantity."
    ),
}
"""The user error messages the emulator answers with, by code."""
STATE_FILE = "shopify.json"
_PATH = re.compile(r"^/admin/api/(?P<version>[^/]+)/graphql\.json$")
_SKU_TERM = re.compile(r'sku:(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s)]+))')
_GID = re.compile(r"^gid://[^/]+/[^/]+/.+$")
_VARIANT_FIELDS = (
    "Variant SKU",
    "Variant Inventory Qty",
    "Variant Inventory Tracker",
    "Variant Price",
    "Option1 Value",
)


@dataclass
class Variant:
    """One variant and its inventory item; ``levels`` maps location id to
    the ``available`` quantity there (absent: not stocked at it)."""

    id: int
    item_id: int
    sku: str
    tracked: bool
    handle: str
    title: str
    policy: str = "DENY"
    levels: dict[int, int] = field(default_factory=dict)


class GraphQLFailure(Exception):
    """A top-level GraphQL error: the whole request is answered with it."""

    def __init__(self, message: str, code: str, path: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.path = path


class ShopifyEmulator(EmulatorBase):
    """One Shopify shop, in memory, answering at its real GraphQL path."""

    kind = "shopify"

    def __init__(
        self,
        name: str,
        *,
        location_name: str = "Main warehouse",
        clock: Clock | None = None,
        maximum: float = 1000.0,
        restore_rate: float = 50.0,
        max_query_cost: float = 1000.0,
        token: str | None = None,
        throttle_http_status: int = 200,
        report_cost: bool = True,
    ) -> None:
        super().__init__(name)
        self.clock: Clock = clock or SystemClock()
        self.maximum = maximum
        self.restore_rate = restore_rate
        self.max_query_cost = min(max_query_cost, maximum)
        self.token = token
        self.throttle_http_status = throttle_http_status
        self.report_cost = report_cost
        self.locations: dict[int, str] = {}
        self.variants: dict[int, Variant] = {}
        self.on_change: Callable[[ShopifyEmulator], None] | None = None
        self.dirty = False
        self._available = maximum
        self._refilled_at = self.clock.monotonic()
        self._next_id = 1
        self._replays: dict[str, tuple[str, Json]] = {}
        self.default_location = self.add_location(location_name)

    # --- test and seeding helpers ------------------------------------------------

    def add_location(self, name: str) -> int:
        location_id = self._new_id()
        self.locations[location_id] = name
        return location_id

    def add_variant(
        self,
        sku: str,
        *,
        quantity: int | None = 0,
        tracked: bool = True,
        location: str | None = None,
        handle: str | None = None,
        title: str | None = None,
        policy: str = "DENY",
    ) -> Variant:
        """A new variant; ``quantity=None`` leaves it unstocked at the location."""
        variant_id = self._new_id()
        variant = Variant(
            id=variant_id,
            item_id=self._new_id(),
            sku=sku,
            tracked=tracked,
            handle=handle or f"product-{variant_id}",
            title=title or sku or f"Product {variant_id}",
            policy=policy,
        )
        if quantity is not None:
            variant.levels[self._location_named(location)] = quantity
        self.variants[variant.id] = variant
        self._changed()
        return variant

    def quantity(self, sku: str, location: str | None = None) -> int | None:
        """``available`` of the one variant with this SKU (None: not stocked)."""
        return self._only(sku).levels.get(self._location_named(location))

    def set_quantity(
        self, sku: str, quantity: int, location: str | None = None
    ) -> None:
        self._only(sku).levels[self._location_named(location)] = quantity
        self._changed()

    def tracked(self, sku: str) -> bool:
        return self._only(sku).tracked

    def consume(self, points: float) -> None:
        """Spend bucket points as another client of the same app would."""
        with self._lock:
            self._refill()
            self._available = max(0.0, self._available - points)

    def _only(self, sku: str) -> Variant:
        found = [v for v in self.variants.values() if v.sku == sku]
        if len(found) != 1:
            raise KeyError(f"shop {self.name}: {len(found)} variants have SKU {sku!r}")
        return found[0]

    def _location_named(self, name: str | None) -> int:
        if name is None:
            return self.default_location
        for location_id, location_name in self.locations.items():
            if location_name == name:
                return location_id
        return self.add_location(name)

    def _new_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def _changed(self) -> None:
        self.dirty = True
        if self.on_change is not None:
            self.on_change(self)

    # --- seeding from export files -------------------------------------------------

    @classmethod
    def from_export(
        cls, name: str, csv_path: Path, **kw: Any
    ) -> tuple[ShopifyEmulator, list[SeedProblem]]:
        """A shop seeded from a product or an inventory CSV export.

        The kind of export is told by its header. Rows that cannot be seeded
        are reported with their physical line number; nothing is invented.
        """
        emulator = cls(name, **kw)
        problems = emulator.seed(csv_path)
        emulator.dirty = False
        return emulator, problems

    def seed(self, csv_path: Path) -> list[SeedProblem]:
        try:
            with csv_path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                header = set(reader.fieldnames or [])
                if "Variant SKU" in header:
                    return _ProductSeeder(self, reader).run()
                if {"SKU", "Location", "Available"} <= header:
                    return _InventorySeeder(self, reader).run()
        except OSError as error:
            raise ChannelConfigError(
                f"{csv_path}: cannot read the Shopify export: {error.strerror}"
            ) from error
        except (csv.Error, UnicodeDecodeError) as error:
            raise ChannelConfigError(
                f"{csv_path}: not a readable CSV: {error}"
            ) from error
        raise ChannelConfigError(
            f"{csv_path}:1: not a Shopify product or inventory export: the header "
            "has neither 'Variant SKU' nor 'SKU', 'Location' and 'Available'"
        )

    # --- persistence ---------------------------------------------------------------

    def save(self, directory: Path) -> Path:
        """Write the shop to ``directory/shopify.json`` atomically."""
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / STATE_FILE
        with self._lock:
            state = {
                "kind": self.kind,
                "next_id": self._next_id,
                "default_location": self.default_location,
                "locations": [
                    {"id": key, "name": value} for key, value in self.locations.items()
                ],
                "variants": [vars(v) for v in self.variants.values()],
            }
            text = json.dumps(state)
        descriptor, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temporary).replace(target)
        self.dirty = False
        return target

    @classmethod
    def load(cls, name: str, directory: Path, **kw: Any) -> ShopifyEmulator:
        """A shop as ``save`` left it in ``directory``."""
        path = directory / STATE_FILE
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            emulator = cls(name, **kw)
            emulator.locations = {
                int(entry["id"]): str(entry["name"]) for entry in state["locations"]
            }
            emulator.variants = {}
            for entry in state["variants"]:
                levels = {int(k): int(v) for k, v in entry.pop("levels").items()}
                variant = Variant(**entry, levels=levels)
                emulator.variants[variant.id] = variant
            emulator._next_id = int(state["next_id"])
            emulator.default_location = int(state["default_location"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ChannelConfigError(
                f"{path}: cannot load the sandbox shop {name}: {error}"
            ) from error
        emulator.dirty = False
        return emulator

    # --- requests ------------------------------------------------------------------

    def route(self, request: httpx.Request, path: str) -> httpx.Response:
        match = _PATH.match(path)
        if request.method != "POST" or match is None:
            return httpx.Response(404, json={"errors": "Not Found"})
        version = match["version"]
        if version not in VERSIONS:
            return httpx.Response(
                404, json={"errors": f"API version {version} unknown"}
            )
        if self.token is not None and (
            request.headers.get("X-Shopify-Access-Token") != self.token
        ):
            message = "[API] Invalid API key or access token (unrecognized login)"
            return httpx.Response(401, json={"errors": message})
        try:
            body = json.loads(request.content or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            missing = {"query": "Required parameter missing or invalid"}
            return httpx.Response(400, json={"errors": missing})
        return self._answer(version, body["query"], body.get("variables") or {})

    def _answer(self, version: str, query: str, variables: Json) -> httpx.Response:
        try:
            operation = _operation(query)
        except GraphQLFailure as failure:
            return self._reply({"errors": [_error_body(failure)]}, None)
        cost = _operation_cost(operation, variables)
        if cost > self.max_query_cost:
            too_costly = GraphQLFailure(
                f"Query cost is {cost}, which exceeds the single query max cost "
                f"limit ({int(self.max_query_cost)}).",
                "MAX_COST_EXCEEDED",
            )
            return self._reply({"errors": [_error_body(too_costly)]}, cost)
        self._refill()
        if cost > self._available + POINT_TOLERANCE:
            return self._throttled(cost)
        self._available = max(0.0, self._available - cost)
        try:
            data = self._execute(version, operation, variables)
        except GraphQLFailure as failure:
            return self._reply({"errors": [_error_body(failure)]}, cost)
        return self._reply({"data": data}, cost)

    def _refill(self) -> None:
        now = self.clock.monotonic()
        elapsed = max(0.0, now - self._refilled_at)
        self._available = min(
            self.maximum, self._available + elapsed * self.restore_rate
        )
        self._refilled_at = now

    def _throttled(self, cost: int) -> httpx.Response:
        body: Json = {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits",
                    },
                }
            ]
        }
        response = self._reply(body, cost, actual=None)
        if self.throttle_http_status != 429:
            return response
        wait = (cost - int(self._available)) / self.restore_rate
        headers = {"Retry-After": str(max(1, -int(-wait // 1)))}
        return httpx.Response(429, json=response.json(), headers=headers)

    def _reply(
        self, body: Json, cost: int | None, actual: int | None = -1
    ) -> httpx.Response:
        if self.report_cost and cost is not None:
            body["extensions"] = {
                "cost": {
                    "requestedQueryCost": cost,
                    "actualQueryCost": cost if actual == -1 else actual,
                    "throttleStatus": {
                        "maximumAvailable": float(self.maximum),
                        "currentlyAvailable": int(self._available),
                        "restoreRate": float(self.restore_rate),
                    },
                }
            }
        return httpx.Response(200, json=body)

    def _execute(
        self, version: str, operation: OperationDefinitionNode, variables: Json
    ) -> Json:
        mutation = operation.operation.value == "mutation"
        resolvers = self._mutations if mutation else self._queries
        data: Json = {}
        for node in _fields(operation.selection_set):
            name = node.name.value
            resolver = resolvers().get(name)
            if resolver is None:
                root = "Mutation" if mutation else "QueryRoot"
                raise GraphQLFailure(
                    f"Field '{name}' doesn't exist on type '{root}'", "undefinedField"
                )
            arguments = _arguments(node, variables)
            directives = {
                d.name.value: _arguments(d, variables) for d in node.directives
            }
            value = resolver(version, arguments, directives)
            data[_key(node)] = _project(value, node.selection_set, variables)
        return data

    def _queries(self) -> dict[str, Callable[[str, Json, Json], Any]]:
        return {"locations": self._locations, "productVariants": self._product_variants}

    def _mutations(self) -> dict[str, Callable[[str, Json, Json], Any]]:
        return {
            "inventorySetQuantities": self._set_quantities,
            "inventoryItemUpdate": self._item_update,
            "inventoryActivate": self._activate,
        }

    # --- queries -------------------------------------------------------------------

    def _locations(self, version: str, arguments: Json, directives: Json) -> Json:
        nodes = [
            (key, {"id": _gid("Location", key), "name": name, "isActive": True})
            for key, name in sorted(self.locations.items())
        ]
        return _connection(nodes, arguments)

    def _product_variants(
        self, version: str, arguments: Json, directives: Json
    ) -> Json:
        search = _sku_terms(arguments.get("query"))
        matching = [
            variant
            for variant in sorted(self.variants.values(), key=lambda v: v.id)
            if search is None or any(variant.sku.startswith(t) for t in search)
        ]
        counts = self._sku_counts()
        return _connection(
            [(variant.id, variant) for variant in matching],
            arguments,
            lambda variant: self._variant_value(variant, counts),
        )

    def _sku_counts(self) -> Counter[str]:
        return Counter(variant.sku for variant in self.variants.values())

    def _variant_value(self, variant: Variant, counts: Counter[str]) -> Json:
        item = {
            "id": _gid("InventoryItem", variant.item_id),
            "sku": variant.sku,
            "tracked": variant.tracked,
            "duplicateSkuCount": counts[variant.sku] - 1 if variant.sku else 0,
            "inventoryLevel": lambda args: self._level_value(variant, args),
        }
        return {
            "id": _gid("ProductVariant", variant.id),
            "sku": variant.sku,
            "inventoryPolicy": variant.policy,
            "inventoryQuantity": sum(variant.levels.values()),
            "inventoryItem": item,
            "product": {"id": _gid("Product", variant.id), "title": variant.title},
        }

    def _level_value(self, variant: Variant, arguments: Json) -> Json | None:
        location = _id_of(arguments.get("locationId"), "Location")
        if location is None or location not in variant.levels:
            return None
        available = variant.levels[location]
        figures = {"available": available, "on_hand": available}
        return {
            "id": f"gid://shopify/InventoryLevel/{variant.item_id}?location={location}",
            "quantities": lambda args: [
                {"name": name, "quantity": figures.get(name, 0)}
                for name in args.get("names") or []
            ],
        }

    # --- mutations -----------------------------------------------------------------

    def _set_quantities(self, version: str, arguments: Json, directives: Json) -> Json:
        set_input = arguments.get("input")
        if not isinstance(set_input, dict):
            raise GraphQLFailure(
                "Variable $input of type InventorySetQuantitiesInput! "
                "was provided invalid value",
                "INVALID_VARIABLE",
            )
        _check_shape(version, set_input, directives)
        key = (directives.get("idempotent") or {}).get("key")
        fingerprint = json.dumps(set_input, sort_keys=True)
        if key is not None and key in self._replays:
            return self._replay(str(key), fingerprint)
        result = self._set_once(version, set_input)
        if key is not None:
            self._replays[str(key)] = (fingerprint, result)
        return result

    def _replay(self, key: str, fingerprint: str) -> Json:
        original_fingerprint, result = self._replays[key]
        if original_fingerprint == fingerprint:
            return result
        error = {
            "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
            "field": None,
            "message": "The idempotency key was used with different parameters.",
        }
        return {"inventoryAdjustmentGroup": None, "userErrors": [error]}

    def _set_once(self, version: str, set_input: Json) -> Json:
        quantities = set_input.get("quantities") or []
        if len(quantities) > MAX_INPUT:
            raise GraphQLFailure(
                f"The input array size of {len(quantities)} is greater than the "
                f"maximum allowed of {MAX_INPUT}.",
                "MAX_INPUT_SIZE_EXCEEDED",
                ["inventorySetQuantities", "input", "quantities"],
            )
        self._land_concurrent_sales(quantities)
        errors = _input_errors(set_input)
        errors += self._quantity_errors(version, set_input, quantities)
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        changes = self._apply(quantities)
        group = {
            "id": _gid("InventoryAdjustmentGroup", self._new_id()),
            "reason": set_input.get("reason"),
            "referenceDocumentUri": set_input.get("referenceDocumentUri"),
            "changes": lambda args: [
                c
                for c in changes
                if c["name"] in (args.get("quantityNames") or ["available"])
            ],
        }
        return {"inventoryAdjustmentGroup": group, "userErrors": []}

    def _land_concurrent_sales(self, quantities: list[Json]) -> None:
        """Sales that land between the client's read and this write."""
        for entry in quantities:
            variant = self._variant_by_item(entry.get("inventoryItemId"))
            location = _id_of(entry.get("locationId"), "Location")
            sold = self.faults.concurrent_sales.pop(variant.sku, 0) if variant else 0
            if variant and sold and location in variant.levels:
                variant.levels[location] -= sold
                self._changed()

    def _quantity_errors(
        self, version: str, set_input: Json, quantities: list[Json]
    ) -> list[Json]:
        errors: list[Json] = []
        seen: set[tuple[Any, Any]] = set()
        for index, entry in enumerate(quantities):
            pair = (entry.get("inventoryItemId"), entry.get("locationId"))
            problem = (
                _problem(
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", "inventoryItemId"
                )
                if pair in seen
                else self._quantity_error(version, set_input, entry)
            )
            seen.add(pair)
            if problem is not None:
                code, message, leaf = problem
                path = ["input", "quantities", str(index), leaf]
                errors.append({"code": code, "field": path, "message": message})
        return errors

    def _quantity_error(
        self, version: str, set_input: Json, entry: Json
    ) -> tuple[str, str, str] | None:
        variant = self._variant_by_item(entry.get("inventoryItemId"))
        location = _id_of(entry.get("locationId"), "Location")
        quantity = entry.get("quantity")
        if variant is None:
            return _problem("INVALID_INVENTORY_ITEM", "inventoryItemId")
        if location not in self.locations:
            return _problem("INVALID_LOCATION", "locationId")
        if variant.sku in self.faults.refusals:
            code, message = self.faults.refusals[variant.sku]
            return (code, message, "quantity")
        if location not in variant.levels:
            return _problem("ITEM_NOT_STOCKED_AT_LOCATION", "locationId")
        if not isinstance(quantity, int) or quantity > QUANTITY_LIMIT:
            return _problem("INVALID_QUANTITY_TOO_HIGH", "quantity")
        if quantity < -QUANTITY_LIMIT:
            return _problem("INVALID_QUANTITY_TOO_LOW", "quantity")
        return _compare_error(version, set_input, entry, variant.levels[location])

    def _apply(self, quantities: list[Json]) -> list[Json]:
        changes: list[Json] = []
        for entry in quantities:
            variant = self._variant_by_item(entry["inventoryItemId"])
            location = _id_of(entry["locationId"], "Location")
            if variant is None or location is None:
                continue
            before = variant.levels[location]
            variant.levels[location] = int(entry["quantity"])
            for name in ("available", "on_hand"):
                changes.append(
                    {
                        "name": name,
                        "delta": variant.levels[location] - before,
                        "quantityAfterChange": variant.levels[location],
                        "item": {"id": entry["inventoryItemId"], "sku": variant.sku},
                        "location": {"id": entry["locationId"]},
                    }
                )
        self._changed()
        return changes

    def _item_update(self, version: str, arguments: Json, directives: Json) -> Json:
        variant = self._variant_by_item(arguments.get("id"))
        update = arguments.get("input") or {}
        if variant is None:
            error = {"field": ["id"], "message": "Inventory item does not exist"}
            return {"inventoryItem": None, "userErrors": [error]}
        if variant.sku in self.faults.refusals:
            code, message = self.faults.refusals[variant.sku]
            error = {"field": ["input", "tracked"], "message": f"{code}: {message}"}
            return {"inventoryItem": None, "userErrors": [error]}
        if "tracked" in update:
            variant.tracked = bool(update["tracked"])
            self._changed()
        return {
            "inventoryItem": self._variant_value(variant, self._sku_counts())[
                "inventoryItem"
            ],
            "userErrors": [],
        }

    def _activate(self, version: str, arguments: Json, directives: Json) -> Json:
        variant = self._variant_by_item(arguments.get("inventoryItemId"))
        location = _id_of(arguments.get("locationId"), "Location")
        if variant is None or location not in self.locations:
            error = {
                "field": ["inventoryItemId"],
                "message": "Item or location not found",
            }
            return {"inventoryLevel": None, "userErrors": [error]}
        if location not in variant.levels:
            variant.levels[location] = int(arguments.get("available") or 0)
            self._changed()
        level = self._level_value(variant, {"locationId": arguments.get("locationId")})
        return {"inventoryLevel": level, "userErrors": []}

    def _variant_by_item(self, gid: Any) -> Variant | None:
        item_id = _id_of(gid, "InventoryItem")
        return next((v for v in self.variants.values() if v.item_id == item_id), None)


# --- seeding ---------------------------------------------------------------------


class _ProductSeeder:
    """Rows of a product export: one variant per row; image-only rows skipped."""

    def __init__(self, shop: ShopifyEmulator, reader: csv.DictReader[str]) -> None:
        self.shop = shop
        self.reader = reader
        self.problems: list[SeedProblem] = []
        self.first_line: dict[str, int] = {}
        self.titles: dict[str, str] = {}

    def run(self) -> list[SeedProblem]:
        for row in self.reader:
            self._row(self.reader.line_num, row)
        return self.problems

    def _row(self, line: int, row: Mapping[str, str | None]) -> None:
        handle = _cell(row, "Handle")
        if _cell(row, "Title"):
            self.titles.setdefault(handle, _cell(row, "Title"))
        if not any(_cell(row, column) for column in _VARIANT_FIELDS):
            return
        sku = without_apostrophe(_cell(row, "Variant SKU"))
        quantity_text = _cell(row, "Variant Inventory Qty")
        quantity = _whole(quantity_text)
        if not sku:
            self._skip(line, "Variant SKU is empty; variant not seeded")
        elif quantity is None:
            self._skip(
                line,
                f"Variant Inventory Qty {quantity_text!r} of SKU {sku!r} is not a "
                "whole number; variant not seeded",
            )
        else:
            self._duplicate(line, sku)
            self.shop.add_variant(
                sku,
                quantity=quantity,
                tracked=bool(_cell(row, "Variant Inventory Tracker")),
                handle=handle,
                title=self.titles.get(handle, handle),
                policy=(_cell(row, "Variant Inventory Policy") or "deny").upper(),
            )

    def _duplicate(self, line: int, sku: str) -> None:
        if sku in self.first_line:
            reason = (
                f"SKU {sku!r} also on line {self.first_line[sku]}; both seeded "
                "(Shopify allows duplicate SKUs)"
            )
            self._skip(line, reason)
        self.first_line.setdefault(sku, line)

    def _skip(self, line: int, reason: str) -> None:
        self.problems.append(SeedProblem(line, reason))


class _InventorySeeder(_ProductSeeder):
    """Rows of an inventory export: one row per variant and location."""

    def __init__(self, shop: ShopifyEmulator, reader: csv.DictReader[str]) -> None:
        super().__init__(shop, reader)
        self.by_key: dict[tuple[str, ...], Variant] = {}

    def _row(self, line: int, row: Mapping[str, str | None]) -> None:
        sku = without_apostrophe(_cell(row, "SKU"))
        location = _cell(row, "Location")
        text = _cell(row, "Available")
        stocked = text.lower() != "not stocked"
        quantity = _whole(text) if stocked else None
        if not sku:
            return self._skip(line, "SKU is empty; row not seeded")
        if not location:
            return self._skip(line, f"Location of SKU {sku!r} is empty; row not seeded")
        if stocked and quantity is None:
            return self._skip(
                line,
                f"Available {text!r} of SKU {sku!r} is not a whole number; "
                "row not seeded",
            )
        variant = self._variant(line, row, sku)
        if quantity is not None:
            variant.levels[self.shop._location_named(location)] = quantity
        return None

    def _variant(self, line: int, row: Mapping[str, str | None], sku: str) -> Variant:
        options = tuple(_cell(row, f"Option{n} Value") for n in (1, 2, 3))
        key = (_cell(row, "Handle"), *options, sku)
        if key not in self.by_key:
            self._duplicate(line, sku)
            self.by_key[key] = self.shop.add_variant(
                sku, quantity=None, handle=key[0], title=_cell(row, "Title") or key[0]
            )
        return self.by_key[key]


def _cell(row: Mapping[str, str | None], column: str) -> str:
    return (row.get(column) or "").strip()


def _whole(text: str) -> int | None:
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else None


# --- GraphQL plumbing --------------------------------------------------------------


def _operation(query: str) -> OperationDefinitionNode:
    try:
        document = parse(query)
    except GraphQLError as error:
        raise GraphQLFailure(error.message, "PARSE_ERROR") from error
    operations = [
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    if len(operations) != 1:
        raise GraphQLFailure("Send exactly one operation per request", "UNSUPPORTED")
    return operations[0]


def _fields(selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set)
        else:
            raise GraphQLFailure("Fragment spreads are not emulated", "UNSUPPORTED")


def _arguments(node: Any, variables: Json) -> Json:
    return {
        a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments
    }


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _project(
    value: Any, selection_set: SelectionSetNode | None, variables: Json
) -> Any:
    """Shape a resolved value by the document's selections."""
    if selection_set is None or value is None:
        return value
    if isinstance(value, list):
        return [_project(entry, selection_set, variables) for entry in value]
    shaped: Json = {}
    for node in _fields(selection_set):
        name = node.name.value
        if name == "__typename":
            shaped[_key(node)] = "Object"
            continue
        if name not in value:
            raise GraphQLFailure(f"Field '{name}' is not emulated", "undefinedField")
        resolved = value[name]
        if callable(resolved):
            resolved = resolved(_arguments(node, variables))
        shaped[_key(node)] = _project(resolved, node.selection_set, variables)
    return shaped


def _operation_cost(operation: OperationDefinitionNode, variables: Json) -> int:
    """Shopify's requested cost: object 1, connection 2 + first x node, mutation 10."""
    if operation.operation.value == "mutation":
        return MUTATION_COST * sum(1 for _ in _fields(operation.selection_set))
    return _selection_cost(operation.selection_set, variables)


def _selection_cost(selection_set: SelectionSetNode | None, variables: Json) -> int:
    return sum(_field_cost(node, variables) for node in _fields(selection_set))


def _field_cost(node: FieldNode, variables: Json) -> int:
    if node.selection_set is None:
        return 0
    arguments = _arguments(node, variables)
    size = arguments.get("first") or arguments.get("last")
    if not isinstance(size, int):
        return 1 + _selection_cost(node.selection_set, variables)
    return 2 + size * _node_cost(node.selection_set, variables)


def _node_cost(selection_set: SelectionSetNode, variables: Json) -> int:
    for node in _fields(selection_set):
        if node.name.value == "nodes":
            return 1 + _selection_cost(node.selection_set, variables)
        if node.name.value == "edges":
            inner = [n for n in _fields(node.selection_set) if n.name.value == "node"]
            return 1 + sum(_selection_cost(n.selection_set, variables) for n in inner)
    return 1


def _connection(
    nodes: Sequence[tuple[int, T]],
    arguments: Json,
    render: Callable[[T], Json] | None = None,
) -> Json:
    """One page of ``nodes`` (sorted by key); only the page's nodes are rendered."""
    first = arguments.get("first")
    if not isinstance(first, int) or not 0 < first <= MAX_FIRST:
        raise GraphQLFailure(
            f"The first argument must be between 1 and {MAX_FIRST}", "BAD_ARGUMENT"
        )
    after = _cursor_id(arguments.get("after"))
    remaining = [(key, node) for key, node in nodes if after is None or key > after]
    page = [
        (key, render(node) if render is not None else node)
        for key, node in remaining[:first]
    ]
    cursors = [_cursor(key) for key, _ in page]
    return {
        "nodes": [node for _, node in page],
        "edges": [
            {"cursor": c, "node": n} for c, (_, n) in zip(cursors, page, strict=True)
        ],
        "pageInfo": {
            "hasNextPage": len(remaining) > first,
            "hasPreviousPage": after is not None,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def _cursor(key: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"last_id": key}).encode()).decode()


def _cursor_id(cursor: Any) -> int | None:
    if cursor is None:
        return None
    try:
        return int(json.loads(base64.urlsafe_b64decode(str(cursor)))["last_id"])
    except (ValueError, KeyError, TypeError) as error:
        raise GraphQLFailure(
            "Invalid cursor for current pagination", "BAD_CURSOR"
        ) from error


def _sku_terms(query: Any) -> list[str] | None:
    """The ``sku:`` terms of a search; like Shopify's tokenised search, a term
    matches every SKU that starts with it, so callers must post-filter."""
    if not query:
        return None
    terms = []
    for match in _SKU_TERM.finditer(str(query)):
        quoted = match["quoted"]
        terms.append(
            re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match["bare"]
        )
    return terms


def _gid(kind: str, key: int) -> str:
    return f"gid://shopify/{kind}/{key}"


def _id_of(gid: Any, kind: str) -> int | None:
    prefix = f"gid://shopify/{kind}/"
    text = str(gid or "")
    tail = text.removeprefix(prefix)
    return int(tail) if text.startswith(prefix) and tail.isdigit() else None


def _error_body(failure: GraphQLFailure) -> Json:
    body: Json = {"message": str(failure), "extensions": {"code": failure.code}}
    if failure.path:
        body["path"] = failure.path
    return body


def _check_shape(version: str, set_input: Json, directives: Json) -> None:
    """The version's compare-and-set shape and idempotency rules."""
    if "idempotent" in directives and version < CHANGE_FROM_SINCE:
        raise GraphQLFailure('Unknown directive "@idempotent".', "undefinedDirective")
    if version >= MANDATORY_SINCE and "idempotent" not in directives:
        raise GraphQLFailure(
            "The @idempotent directive is required for this mutation.",
            "IDEMPOTENCY_KEY_REQUIRED",
        )
    for index, entry in enumerate(set_input.get("quantities") or []):
        _check_quantity_shape(version, set_input, index, entry)


def _check_quantity_shape(
    version: str, set_input: Json, index: int, entry: Json
) -> None:
    where = ["inventorySetQuantities", "input", "quantities", str(index)]
    if "changeFromQuantity" in entry and version < CHANGE_FROM_SINCE:
        raise GraphQLFailure(
            "Field 'changeFromQuantity' is not defined by type "
            "'InventoryQuantityInput'.",
            "argumentNotAccepted",
            where,
        )
    if version < MANDATORY_SINCE:
        return
    removed = "compareQuantity" in entry or "ignoreCompareQuantity" in set_input
    if removed:
        raise GraphQLFailure(
            "compareQuantity and ignoreCompareQuantity were removed in 2026-04.",
            "argumentNotAccepted",
            where,
        )
    if "changeFromQuantity" not in entry:
        raise GraphQLFailure(
            "changeFromQuantity is required (pass null to opt out).",
            "missingRequiredInputObjectAttribute",
            where,
        )


def _input_errors(set_input: Json) -> list[Json]:
    errors: list[Json] = []
    if set_input.get("name") not in ("available", "on_hand"):
        message = "The quantity name must be either 'available' or 'on_hand'."
        errors.append(
            {"code": "INVALID_NAME", "field": ["input", "name"], "message": message}
        )
    if set_input.get("reason") not in REASONS:
        message = "The specified reason is invalid."
        errors.append(
            {"code": "INVALID_REASON", "field": ["input", "reason"], "message": message}
        )
    uri = set_input.get("referenceDocumentUri")
    if uri is not None and (str(uri).startswith("gid:") and not _GID.match(str(uri))):
        message = "The reference document URI must be a valid URI."
        field = ["input", "referenceDocumentUri"]
        errors.append(
            {"code": "INVALID_REFERENCE_DOCUMENT", "field": field, "message": message}
        )
    return errors


def _problem(code: str, leaf: str) -> tuple[str, str, str]:
    return (code, MESSAGES[code], leaf)


def _compare_error(
    version: str, set_input: Json, entry: Json, current: int
) -> tuple[str, str, str] | None:
    if "changeFromQuantity" in entry:
        expected = entry["changeFromQuantity"]
        if expected is not None and expected != current:
            return _problem("CHANGE_FROM_QUANTITY_STALE", "changeFromQuantity")
        return None
    if set_input.get("ignoreCompareQuantity"):
        return None
    expected = entry.get("compareQuantity")
    if expected is None:
        return _problem("COMPARE_QUANTITY_REQUIRED", "compareQuantity")
    if expected != current:
        return _problem("COMPARE_QUANTITY_STALE", "compareQuantity")
    return None

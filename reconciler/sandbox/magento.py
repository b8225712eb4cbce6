"""A Magento 2 REST emulator: legacy stock items and MSI source items.

It answers the requests the Magento adapter sends, at the channel's real paths
(``/rest/{store_code}/V1/...``), with the server behaviours that bite an
inventory sync (channel-apis.md sections 2 and 4):

- a stock-item PUT merges a partial body into the stored item; with stock
  managed, a quantity at or below ``min_qty`` forces ``is_in_stock`` false;
  products without their own quantity (configurable, bundle, grouped) keep
  ``qty`` 0, and an item whose stock is unmanaged through the config default
  keeps its quantity: both answer 200 and store nothing;
- searches page with ``searchCriteria[pageSize]`` / ``[currentPage]``, repeat
  the last page past the end, and come back in no stable order unless
  ``sortOrders`` is given;
- SKUs are looked up case-insensitively;
- saving a default-source item writes the legacy stock item and the other way
  round (the InventoryCatalog plugins);
- errors come as ``{"message": "... %1 ...", "parameters": ...}``;
- an optional request rate limit answers 429 with ``Retry-After``;
- the asynchronous bulk stock-item endpoint
  (``PUT /rest/{store_code}/async/bulk/V1/products/bySku/stockItems/byItemId``)
  queues one operation per array entry, rejecting malformed entries at once,
  and ``GET /V1/bulk/{uuid}/status`` reports them; a "consumer" applies the
  queued operations right away or after ``bulk_consumer_polls`` status polls
  (``None``: no consumer runs, they stay open). An operation that fails is
  status 3 with the error text as ``result_message``.

Bulks live in memory only: a restart of the emulator forgets them, as a
Magento without its queue would.

State is seeded from a Magento catalog export CSV and saved as one JSON file.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import logging
import math
import os
import random
import re
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from reconciler.clock import Clock, SystemClock
from reconciler.sandbox.base import EmulatorBase, SeedProblem
from reconciler.skus import without_apostrophe

log = logging.getLogger(__name__)

STATE_FILE = "magento.json"
DEFAULT_SOURCE = "default"
NO_QTY_TYPES = frozenset({"configurable", "bundle", "grouped"})
"""Product types Magento keeps no quantity of: their stock item stays at 0."""

_ROUTE = re.compile(r"^/rest/(?P<store_code>[^/]+)/V1/(?P<rest>.*)$")
_STOCK_ITEM = re.compile(r"^stockItems/(?P<sku>[^/]+)$")
_PRODUCT_STOCK = re.compile(r"^products/(?P<sku>[^/]+)/stockItems/(?P<item>[^/]+)$")
_ASYNC_BULK = re.compile(r"^/rest/(?P<store_code>[^/]+)/async/bulk/V1/(?P<rest>.*)$")
_BULK_STOCK = "products/bySku/stockItems/byItemId"
_BULK_STATUS = re.compile(r"^bulk/(?P<uuid>[^/]+)/status$")
_BULK_TOPIC = (
    "async.magento.cataloginventory.api.stockregistryinterface.updatestockitembysku.put"
)
COMPLETE, RETRIABLY_FAILED, FAILED, OPEN = 1, 2, 3, 4
_CRITERIA = re.compile(r"^searchCriteria((?:\[[^\]]*\])+)$")


@dataclass
class StockItem:
    """One product and its legacy stock item (``stock_id`` 1)."""

    product_id: int
    sku: str
    type_id: str
    qty: float
    is_in_stock: bool
    manage_stock: bool
    use_config_manage_stock: bool
    min_qty: float = 0.0
    stock_status_changed_auto: int = 0


@dataclass
class SourceItem:
    """One MSI source item: a SKU's quantity at one source."""

    sku: str
    source_code: str
    quantity: float
    status: int


@dataclass
class BulkOperation:
    """One queued stock-item save of a bulk; ``id`` is its request index."""

    id: int
    sku: str
    stock_item: dict[str, Any]
    status: int = OPEN
    result_message: str = ""
    error_code: int = 0


@dataclass
class Bulk:
    """An accepted bulk request and how often its status was polled."""

    uuid: str
    start_time: str
    operations: list[BulkOperation]
    polls: int = 0


class MagentoError(Exception):
    """An error reply, in Magento's body shape."""

    def __init__(self, status: int, message: str, parameters: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message}
        if parameters is not None:
            self.body["parameters"] = parameters

    def rendered(self) -> str:
        """The message with its placeholders filled, as a consumer logs it."""
        parameters = self.body.get("parameters")
        text = str(self.body["message"])
        if isinstance(parameters, dict):
            named = {str(k): str(v) for k, v in parameters.items()}
        elif isinstance(parameters, list):
            named = {str(i + 1): str(v) for i, v in enumerate(parameters)}
        else:
            named = {}
        return re.sub(r"%(\w+)", lambda m: named.get(m[1], m[0]), text)


class MagentoEmulator(EmulatorBase):
    """An in-memory Magento 2 instance serving the inventory REST endpoints.

    ``rate_limit`` is the number of requests answered per ``rate_window``
    seconds (``None``: no limit); past it, 429 with ``Retry-After``.
    ``token`` set makes every request without that Bearer token a 401.
    ``bulk_consumer_polls`` is how many status polls a bulk stays open before
    the consumer applies it (0: applied when accepted; ``None``: never).
    ``retriable_failures`` maps a SKU to the message its next bulk operation
    fails with as retriable (status 2), as a lock wait timeout would.
    """

    kind = "magento"

    def __init__(
        self,
        name: str,
        *,
        manage_stock_default: bool = True,
        sources: Iterable[str] = (DEFAULT_SOURCE,),
        rate_limit: int | None = None,
        rate_window: float = 1.0,
        token: str | None = None,
        clock: Clock | None = None,
        bulk_consumer_polls: int | None = 0,
    ) -> None:
        super().__init__(name)
        self.bulk_consumer_polls = bulk_consumer_polls
        self.bulks: dict[str, Bulk] = {}
        self.retriable_failures: dict[str, str] = {}
        self.manage_stock_default = manage_stock_default
        self.sources = tuple(sources)
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.token = token
        self.clock: Clock = clock or SystemClock()
        self.items: dict[str, StockItem] = {}
        self.source_items: dict[tuple[str, str], SourceItem] = {}
        self._window_start = 0.0
        self._window_count = 0

    # --- test helpers --------------------------------------------------------

    def add_product(
        self,
        sku: str,
        qty: float = 0,
        *,
        type_id: str = "simple",
        is_in_stock: bool | None = None,
        manage_stock: bool = True,
        use_config_manage_stock: bool = False,
    ) -> StockItem:
        """Create a product with its stock item (and default source item)."""
        in_stock = qty > 0 if is_in_stock is None else is_in_stock
        item = StockItem(
            product_id=len(self.items) + 1,
            sku=sku,
            type_id=type_id,
            qty=0.0 if type_id in NO_QTY_TYPES else float(qty),
            is_in_stock=in_stock,
            manage_stock=manage_stock,
            use_config_manage_stock=use_config_manage_stock,
        )
        self.items[sku.casefold()] = item
        if type_id not in NO_QTY_TYPES:
            self._couple_to_source(item)
        return item

    def quantity(self, sku: str) -> float:
        """The legacy stock quantity of a SKU (any case)."""
        return self._item(sku).qty

    def set_quantity(self, sku: str, qty: float) -> None:
        """Change a quantity as a sale in the shop would (legacy and default source)."""
        item = self._item(sku)
        item.qty = float(qty)
        self._couple_to_source(item)

    def source_quantity(self, sku: str, source_code: str = DEFAULT_SOURCE) -> float:
        return self.source_items[(source_code.casefold(), sku.casefold())].quantity

    def set_source_quantity(self, sku: str, source_code: str, quantity: float) -> None:
        """Change (or assign) a SKU's quantity at one source."""
        item = self._item(sku)
        key = (source_code.casefold(), sku.casefold())
        status = int(quantity > 0)
        self.source_items[key] = SourceItem(item.sku, source_code, quantity, status)
        if source_code.casefold() == DEFAULT_SOURCE:
            item.qty, item.is_in_stock = float(quantity), bool(status)

    def stock(self) -> dict[str, float]:
        """SKU -> legacy quantity, for the control endpoint and tests."""
        return {item.sku: item.qty for item in self.items.values()}

    def managed(self, item: StockItem) -> bool:
        """Effective stock management: the config default wins while used."""
        if item.use_config_manage_stock:
            return self.manage_stock_default
        return item.manage_stock

    # --- seeding and persistence ---------------------------------------------

    @classmethod
    def from_export(
        cls, name: str, csv_path: Path | str, **options: Any
    ) -> tuple[MagentoEmulator, list[SeedProblem]]:
        """An emulator seeded from a Magento catalog export CSV.

        Valid rows are seeded; every skipped row is reported with its line
        number (where the row starts, multi-line descriptions counted) and
        the reason. Nothing is invented: a row without a usable quantity is
        skipped, not seeded at 0.
        """
        emulator = cls(name, **options)
        problems: list[SeedProblem] = []
        for line, row in _rows_with_lines(Path(csv_path)):
            problem = emulator._seed_row(row)
            if problem is not None:
                problems.append(SeedProblem(line, problem))
        log.info(
            "event=sandbox.seed kind=magento store=%s skus=%d skipped=%d",
            name,
            len(emulator.items),
            len(problems),
        )
        return emulator, problems

    def _seed_row(self, row: Mapping[str, str | None]) -> str | None:
        sku = without_apostrophe(row.get("sku") or "")
        if not sku:
            return "empty SKU"
        if (row.get("store_view_code") or "").strip():
            return f"store view row for SKU {sku!r}: carries no stock"
        if sku.casefold() in self.items:
            return f"duplicate SKU {sku!r} (first row kept)"
        try:
            fields = _stock_fields(row)
        except ValueError as error:
            return f"SKU {sku!r}: {error}"
        self.add_product(sku, **fields)
        return None

    def save(self, directory: Path | str) -> Path:
        """Write the state to ``directory/magento.json`` atomically."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            text = json.dumps(
                {
                    "kind": self.kind,
                    "name": self.name,
                    "manage_stock_default": self.manage_stock_default,
                    "sources": list(self.sources),
                    "items": [vars(item) for item in self.items.values()],
                    "source_items": [vars(s) for s in self.source_items.values()],
                }
            )
        return _write_atomic(folder / STATE_FILE, text)

    @classmethod
    def load(cls, name: str, directory: Path | str) -> MagentoEmulator:
        """The emulator saved by ``save``; ``FileNotFoundError`` when absent."""
        state = json.loads((Path(directory) / STATE_FILE).read_text("utf-8"))
        emulator = cls(
            name,
            manage_stock_default=state["manage_stock_default"],
            sources=state["sources"],
        )
        for raw in state["items"]:
            item = StockItem(**raw)
            emulator.items[item.sku.casefold()] = item
        for raw in state["source_items"]:
            source_item = SourceItem(**raw)
            key = (source_item.source_code.casefold(), source_item.sku.casefold())
            emulator.source_items[key] = source_item
        return emulator

    # --- serving -------------------------------------------------------------

    def handle(self, request: httpx.Request, path: str | None = None) -> httpx.Response:
        """Serve a request; the path is kept percent-encoded, as sent."""
        return super().handle(request, path if path is not None else _raw_path(request))

    def route(self, request: httpx.Request, path: str) -> httpx.Response:
        try:
            self._check_auth(request)
            self._check_rate()
            return self._dispatch(request, path)
        except MagentoError as error:
            headers = {}
            if error.status == 429:
                headers["Retry-After"] = str(error.body.pop("retry_after"))
            return httpx.Response(error.status, json=error.body, headers=headers)

    def _check_auth(self, request: httpx.Request) -> None:
        if self.token is None:
            return
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise MagentoError(
                401,
                "The consumer isn't authorized to access %resources.",
                {"resources": "Magento_CatalogInventory::cataloginventory"},
            )

    def _check_rate(self) -> None:
        if self.rate_limit is None:
            return
        now = self.clock.monotonic()
        if now - self._window_start >= self.rate_window:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        if self._window_count > self.rate_limit:
            wait = self._window_start + self.rate_window - now
            error = MagentoError(429, "Too many requests. Retry later.")
            error.body["retry_after"] = max(1, math.ceil(wait))
            raise error

    def _dispatch(self, request: httpx.Request, path: str) -> httpx.Response:
        match = _ROUTE.match(path)
        rest = match.group("rest") if match else ""
        method = request.method
        if method == "GET" and rest == "products":
            return _json(self._search_products(_criteria(request)))
        if method == "GET" and rest == "inventory/source-items":
            return _json(self._search_source_items(_criteria(request)))
        if method == "POST" and rest == "inventory/source-items":
            return _json(self._save_source_items(_body(request)))
        if method == "GET" and (found := _STOCK_ITEM.match(rest)):
            return _json(self._stock_item_reply(self._read_item(found["sku"])))
        if method == "PUT" and (found := _PRODUCT_STOCK.match(rest)):
            return _json(self._put_stock_item(found["sku"], _body(request)))
        if method == "GET" and (found := _BULK_STATUS.match(rest)):
            return _json(self._bulk_status(unquote(found["uuid"])))
        bulk = _ASYNC_BULK.match(path)
        if method == "PUT" and bulk and bulk["rest"] == _BULK_STOCK:
            return _json(self._accept_bulk(_body(request)))
        raise MagentoError(404, "Request does not match any route.")

    # --- legacy stock items --------------------------------------------------

    def _item(self, sku: str) -> StockItem:
        item = self.items.get(sku.casefold())
        if item is None:
            raise MagentoError(404, 'Product with SKU "%1" does not exist', [sku])
        return item

    def _read_item(self, raw_sku: str) -> StockItem:
        item = self._item(unquote(raw_sku))
        self._land_concurrent_sale(item)
        return item

    def _stock_item_reply(self, item: StockItem) -> dict[str, Any]:
        return {
            "item_id": item.product_id,
            "product_id": item.product_id,
            "stock_id": 1,
            "qty": _number(item.qty),
            "is_in_stock": item.is_in_stock,
            "is_qty_decimal": False,
            "use_config_min_qty": True,
            "min_qty": _number(item.min_qty),
            "use_config_manage_stock": item.use_config_manage_stock,
            "manage_stock": item.manage_stock,
            "stock_status_changed_auto": item.stock_status_changed_auto,
        }

    def _put_stock_item(self, raw_sku: str, body: Any) -> int:
        item = self._read_item(raw_sku)
        changes = _stock_item_of(body)
        return self._save_stock_item(item, changes)

    def _save_stock_item(self, item: StockItem, changes: Mapping[str, Any]) -> int:
        self._refuse_if_faulted(item.sku)
        self._merge_stock_item(item, changes)
        self._couple_to_source(item)
        return item.product_id

    def _merge_stock_item(self, item: StockItem, changes: Mapping[str, Any]) -> None:
        """``addData`` then ``save``, as StockItemRepository does."""
        for flag in ("use_config_manage_stock", "manage_stock", "is_in_stock"):
            if flag in changes:
                setattr(item, flag, bool(changes[flag]))
        stores_qty = item.type_id not in NO_QTY_TYPES and self.managed(item)
        if "qty" in changes and stores_qty:
            item.qty = _quantity(changes["qty"], "qty")
        qty_type = item.type_id not in NO_QTY_TYPES
        low = item.qty <= item.min_qty
        if qty_type and self.managed(item) and low and item.is_in_stock:
            item.is_in_stock, item.stock_status_changed_auto = False, 1

    def _couple_to_source(self, item: StockItem) -> None:
        """Legacy save -> default source item, as the InventoryCatalog plugin does."""
        if item.type_id in NO_QTY_TYPES:
            return
        key = (DEFAULT_SOURCE, item.sku.casefold())
        status = int(item.is_in_stock)
        self.source_items[key] = SourceItem(item.sku, DEFAULT_SOURCE, item.qty, status)

    # --- asynchronous bulk -------------------------------------------------------

    def _accept_bulk(self, body: Any) -> dict[str, Any]:
        """Queue one operation per well-formed entry; reject the others."""
        if not isinstance(body, list):
            raise MagentoError(400, "Request body is not an array of requests.")
        bulk = Bulk(str(uuid.UUID(int=len(self.bulks) + 1, version=4)), self._now(), [])
        replies = [self._queue(bulk, index, entry) for index, entry in enumerate(body)]
        self.bulks[bulk.uuid] = bulk
        if self.bulk_consumer_polls == 0:
            self._consume(bulk)
        errors = any(reply["status"] == "rejected" for reply in replies)
        return {"bulk_uuid": bulk.uuid, "request_items": replies, "errors": errors}

    def _queue(self, bulk: Bulk, index: int, entry: Any) -> dict[str, Any]:
        data_hash = hashlib.sha256(json.dumps(entry).encode()).hexdigest()
        try:
            sku, changes = _bulk_entry(entry)
        except MagentoError as error:
            return {
                "id": index,
                "data_hash": data_hash,
                "status": "rejected",
                "error_message": error.rendered(),
                "error_code": 0,
            }
        bulk.operations.append(BulkOperation(index, sku, changes))
        return {"id": index, "data_hash": data_hash, "status": "accepted"}

    def _bulk_status(self, bulk_uuid: str) -> dict[str, Any]:
        bulk = self.bulks.get(bulk_uuid)
        if bulk is None:
            raise MagentoError(
                400, "Bulk uuid %bulkUuid not exist", {"bulkUuid": bulk_uuid}
            )
        bulk.polls += 1
        consumer = self.bulk_consumer_polls
        if consumer is not None and bulk.polls > consumer:
            self._consume(bulk)
        return {
            "operations_list": [
                {
                    "id": op.id,
                    "status": op.status,
                    "result_message": op.result_message,
                    "error_code": op.error_code,
                }
                for op in bulk.operations
            ],
            "bulk_id": bulk.uuid,
            "description": f"Topic {_BULK_TOPIC}",
            "operation_count": len(bulk.operations),
            "start_time": bulk.start_time,
            "user_id": 1,
            "user_type": 2,
        }

    def _consume(self, bulk: Bulk) -> None:
        """The queue consumer: apply every open operation, in order."""
        for operation in bulk.operations:
            if operation.status == OPEN:
                self._apply_operation(operation)

    def _apply_operation(self, operation: BulkOperation) -> None:
        retriable = self._take_retriable(operation.sku)
        if retriable is not None:
            operation.status, operation.result_message = RETRIABLY_FAILED, retriable
            return
        try:
            item = self._item(operation.sku)
            self._land_concurrent_sale(item)
            self._save_stock_item(item, operation.stock_item)
        except MagentoError as error:
            operation.status, operation.result_message = FAILED, error.rendered()
            operation.error_code = error.status if error.status in (400, 422) else 0
            return
        operation.status, operation.result_message = COMPLETE, ""

    def _take_retriable(self, sku: str) -> str | None:
        for faulted in list(self.retriable_failures):
            if faulted.casefold() == sku.casefold():
                return self.retriable_failures.pop(faulted)
        return None

    def _now(self) -> str:
        """The emulator clock's reading as Magento's ``start_time`` text."""
        moment = datetime.fromtimestamp(self.clock.monotonic(), tz=UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    # --- MSI source items -------------------------------------------------------

    def _search_source_items(self, criteria: Criteria) -> dict[str, Any]:
        def rows() -> list[dict[str, Any]]:
            return [_source_item_reply(item) for item in self.source_items.values()]

        self._land_sales_searched(criteria, rows())
        return criteria.page(criteria.filtered(rows()), shuffle_seed=len(self.requests))

    def _land_sales_searched(
        self, criteria: Criteria, rows: list[dict[str, Any]]
    ) -> None:
        """A search by SKU (a re-read before a write) lands armed sales first."""
        if criteria.touches_skus():
            for row in criteria.filtered(rows):
                self._land_concurrent_sale(self._item(row["sku"]))

    def _save_source_items(self, body: Any) -> list[Any]:
        entries = body.get("sourceItems") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise MagentoError(
                400,
                '"%fieldName" is required. Enter and try again.',
                {"fieldName": "sourceItems"},
            )
        checked = [self._checked_source_item(entry) for entry in entries]
        for item, entry in checked:
            self._land_concurrent_sale(item)
            self._store_source_item(item, entry)
        return []

    def _checked_source_item(self, entry: Any) -> tuple[StockItem, SourceItem]:
        """Validate one entry; any invalid entry fails the whole save."""
        if not isinstance(entry, dict):
            raise MagentoError(400, "Validation Failed")
        item = self._item(str(entry.get("sku", "")))
        self._refuse_if_faulted(item.sku)
        source = str(entry.get("source_code", ""))
        known = {code.casefold(): code for code in self.sources}
        if source.casefold() not in known:
            raise MagentoError(
                400,
                "Could not save Source Item: %fieldName %fieldValue is unknown",
                [{"fieldName": "source_code", "fieldValue": source}],
            )
        quantity = _quantity(entry.get("quantity"), "quantity")
        status = entry.get("status")
        if status not in (0, 1):
            raise MagentoError(400, "Invalid source item status %1", [str(status)])
        code = known[source.casefold()]
        return item, SourceItem(item.sku, code, quantity, int(status))

    def _store_source_item(self, item: StockItem, entry: SourceItem) -> None:
        if item.type_id in NO_QTY_TYPES:
            return
        key = (entry.source_code.casefold(), item.sku.casefold())
        self.source_items[key] = entry
        if entry.source_code.casefold() == DEFAULT_SOURCE:
            item.qty, item.is_in_stock = entry.quantity, bool(entry.status)

    # --- products search -----------------------------------------------------

    def _search_products(self, criteria: Criteria) -> dict[str, Any]:
        def rows() -> list[dict[str, Any]]:
            return [self._product_reply(item) for item in self.items.values()]

        self._land_sales_searched(criteria, rows())
        return criteria.page(criteria.filtered(rows()), shuffle_seed=len(self.requests))

    def _product_reply(self, item: StockItem) -> dict[str, Any]:
        return {
            "id": item.product_id,
            "entity_id": item.product_id,
            "sku": item.sku,
            "type_id": item.type_id,
            "extension_attributes": {"stock_item": self._stock_item_reply(item)},
        }

    # --- faults --------------------------------------------------------------

    def _refuse_if_faulted(self, sku: str) -> None:
        for faulted, (code, message) in self.faults.refusals.items():
            if faulted.casefold() == sku.casefold():
                status = int(code) if code.isdigit() and len(code) == 3 else 400
                raise MagentoError(status, message, {"sku": sku})

    def _land_concurrent_sale(self, item: StockItem) -> None:
        """A sale armed for this SKU lands before the request is answered."""
        for faulted in list(self.faults.concurrent_sales):
            if faulted.casefold() == item.sku.casefold():
                sold = self.faults.concurrent_sales.pop(faulted)
                item.qty -= sold
                self._couple_to_source(item)


def _source_item_reply(item: SourceItem) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "source_code": item.source_code,
        "quantity": _number(item.quantity),
        "status": item.status,
    }


# --- search criteria ---------------------------------------------------------


@dataclass
class Criteria:
    """``searchCriteria`` query parameters, snake_case or camelCase."""

    groups: list[list[dict[str, str]]]
    sort: list[tuple[str, str]]
    page_size: int | None
    current_page: int
    raw: dict[str, Any]

    def touches_skus(self) -> bool:
        return any(f.get("field") == "sku" for group in self.groups for f in group)

    def filtered(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [row for row in rows if all(_any_match(row, g) for g in self.groups)]

    def page(self, rows: list[dict[str, Any]], *, shuffle_seed: int) -> dict[str, Any]:
        """One page; past the end, the last page again (as Magento does)."""
        if self.sort:
            for field, direction in reversed(self.sort):
                rows.sort(key=lambda row: _sort_key(row, field))
                if direction.upper() == "DESC":
                    rows.reverse()
        else:
            random.Random(shuffle_seed).shuffle(rows)
        total = len(rows)
        if self.page_size:
            last = max(1, math.ceil(total / self.page_size))
            start = (min(self.current_page, last) - 1) * self.page_size
            rows = rows[start : start + self.page_size]
        return {"items": rows, "search_criteria": self.raw, "total_count": total}


def _criteria(request: httpx.Request) -> Criteria:
    groups: dict[int, dict[int, dict[str, str]]] = {}
    sort: dict[int, dict[str, str]] = {}
    raw: dict[str, Any] = {}
    for name, value in request.url.params.multi_items():
        match = _CRITERIA.match(name)
        if not match:
            continue
        parts = [_snake(part) for part in match.group(1)[1:-1].split("][")]
        _store_criterion(parts, value, groups, sort, raw)
    return Criteria(
        groups=[
            [filters[k] for k in sorted(filters)]
            for _, filters in sorted(groups.items())
        ],
        sort=[
            (s.get("field", ""), s.get("direction", "ASC"))
            for _, s in sorted(sort.items())
        ],
        page_size=_int_or_none(raw.get("page_size")),
        current_page=_int_or_none(raw.get("current_page")) or 1,
        raw=raw,
    )


def _store_criterion(
    parts: list[str],
    value: str,
    groups: dict[int, dict[int, dict[str, str]]],
    sort: dict[int, dict[str, str]],
    raw: dict[str, Any],
) -> None:
    try:
        if parts[0] == "filter_groups" and parts[2] == "filters":
            group = groups.setdefault(int(parts[1]), {})
            group.setdefault(int(parts[3]), {})[parts[4]] = value
        elif parts[0] == "sort_orders":
            sort.setdefault(int(parts[1]), {})[parts[2]] = value
        elif len(parts) == 1:
            raw[parts[0]] = value
        else:
            raise MagentoError(400, "Invalid search criteria parameter %1", [value])
    except (IndexError, ValueError) as error:
        raise MagentoError(
            400, "Invalid search criteria parameter %1", ["][".join(parts)]
        ) from error


def _any_match(row: Mapping[str, Any], filters: list[dict[str, str]]) -> bool:
    return any(_matches(row, f) for f in filters)


def _matches(row: Mapping[str, Any], condition: Mapping[str, str]) -> bool:
    field = condition.get("field", "")
    kind = condition.get("condition_type", "eq")
    wanted = condition.get("value", "")
    value = str(row.get(field, ""))
    if field in ("sku", "source_code"):
        value, wanted = value.casefold(), wanted.casefold()
    if kind == "eq":
        return value == wanted
    if kind == "neq":
        return value != wanted
    if kind in ("in", "nin"):
        inside = value in _members(wanted)
        return inside if kind == "in" else not inside
    if kind == "like":
        pattern = re.escape(wanted).replace("%", ".*")
        return re.fullmatch(pattern, value) is not None
    raise MagentoError(400, 'Condition type "%1" is not supported here', [kind])


@functools.lru_cache(maxsize=64)
def _members(listed: str) -> frozenset[str]:
    """The values of an ``in`` filter; parsed once, not once per row."""
    return frozenset(part.strip() for part in listed.split(","))


def _sort_key(row: Mapping[str, Any], field: str) -> Any:
    value = row.get("id") if field == "entity_id" else row.get(field)
    if value is None:
        raise MagentoError(400, 'Cannot sort by "%1"', [field])
    return value


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _int_or_none(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as error:
        raise MagentoError(400, "Invalid page parameter %1", [str(value)]) from error


# --- wire helpers ------------------------------------------------------------


def _raw_path(request: httpx.Request) -> str:
    return request.url.raw_path.split(b"?", 1)[0].decode("ascii")


def _body(request: httpx.Request) -> Any:
    try:
        return json.loads(request.content or b"null")
    except ValueError as error:
        raise MagentoError(400, "Decoding error: %1", [str(error)]) from error


def _stock_item_of(body: Any) -> dict[str, Any]:
    changes = body.get("stockItem") if isinstance(body, dict) else None
    if not isinstance(changes, dict):
        raise MagentoError(
            400,
            '"%fieldName" is required. Enter and try again.',
            {"fieldName": "stockItem"},
        )
    return changes


def _bulk_entry(entry: Any) -> tuple[str, dict[str, Any]]:
    """A bulk entry's SKU and stock item, checked as Magento's input resolver does."""
    sku = entry.get("productSku") if isinstance(entry, dict) else None
    if not isinstance(sku, str) or not sku.strip():
        raise MagentoError(
            400,
            '"%fieldName" is required. Enter and try again.',
            {"fieldName": "productSku"},
        )
    changes = _stock_item_of(entry)
    if "qty" in changes:
        _quantity(changes["qty"], "qty")
    return sku, changes


def _json(payload: Any) -> httpx.Response:
    return httpx.Response(200, json=payload)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _quantity(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MagentoError(
            400,
            'The "%fieldValue" value\'s type is invalid. '
            'The "%fieldName" type was expected.',
            {"fieldName": field, "fieldValue": str(value)},
        )
    return float(value)


# --- export CSV ---------------------------------------------------------------------


def _rows_with_lines(path: Path) -> Iterable[tuple[int, dict[str, str | None]]]:
    """Rows with the line each starts on (quoted fields may span lines)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        start = 2
        for row in reader:
            yield start, row
            start = reader.line_num + 1


_EXPORT_NUMBER = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
)
"""A number as the import accepts it: ASCII digits only, no ``_`` separators,
no ``inf`` or ``nan`` (Python's ``float`` takes all three)."""

_FLAGS = {"1": True, "0": False, "yes": True, "no": False}


def _stock_fields(row: Mapping[str, str | None]) -> dict[str, Any]:
    """The stock columns of an export row; ``ValueError`` names a bad one."""
    type_id = (row.get("product_type") or "simple").strip() or "simple"
    raw_qty = (row.get("qty") or "").strip()
    if not raw_qty:
        raise ValueError("empty qty")
    qty = float(raw_qty) if _EXPORT_NUMBER.fullmatch(raw_qty) else math.nan
    if not math.isfinite(qty):
        raise ValueError(f"qty {raw_qty!r} is not a number")
    return {
        "qty": qty,
        "type_id": type_id,
        "is_in_stock": _flag(row, "is_in_stock", qty > 0),
        "manage_stock": _flag(row, "manage_stock", True),
        "use_config_manage_stock": _flag(row, "use_config_manage_stock", True),
    }


def _flag(row: Mapping[str, str | None], column: str, default: bool) -> bool:
    """A 0/1 column; empty takes Magento's import default for that column."""
    raw = (row.get(column) or "").strip().lower()
    if not raw:
        return default
    if raw not in _FLAGS:
        raise ValueError(f"{column} {raw!r} is not 0 or 1")
    return _FLAGS[raw]


def _write_atomic(target: Path, text: str) -> Path:
    handle, temp = tempfile.mkstemp(prefix=".magento-", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(temp).replace(target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target

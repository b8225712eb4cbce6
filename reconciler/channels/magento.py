"""The Magento 2 / Adobe Commerce adapter: REST over httpx.

Reading. Legacy stock (``source`` unset) has no endpoint that lists stock
items in pages: ``GET /V1/stockItems/lowStock`` pages only items at or below a
quantity, and ``GET /V1/stockItems/{sku}`` reads one item. The product search
``GET /V1/products`` pages the whole catalog and carries each product's stock
item in ``extension_attributes.stock_item`` together with its ``type_id``,
which tells the configurable parents (no quantity of their own) apart; it is
what this adapter reads, sorted by ``entity_id``. MSI (``source`` set) reads
``GET /V1/inventory/source-items`` filtered by ``source_code`` and sorted by
``sku``. Both page with ``PAGE_SIZE`` (the default REST input limit of
``webapi/validation/maximum_page_size`` since 2.4.7 is 300), stop at
``ceil(total_count / PAGE_SIZE)`` because Magento repeats the last page past
the end, and drop repeated SKUs (compared case-insensitively).

Reading manage-stock under MSI. Source items carry no manage-stock flag: it
stays on the product's (legacy) stock item. An MSI read therefore pages the
product search too, and each source item takes its product's effective flag
(``use_config_manage_stock`` resolved). That doubles the read's pages, and it
is the only way to tell a product with Manage Stock = No (whose source
quantity means nothing) from a managed one at zero.

Writing. Magento has no compare-and-set. With ``channel.recheck`` each batch
is re-read just before writing (legacy: the product search with an ``in``
filter on ``sku``; MSI: the source-items search filtered by source and SKUs,
and the product search for the flags), and any item whose value moved since
the snapshot is reported ``STALE`` and not written (the executor re-plans it
from the re-read, as after a stale compare-and-set on Shopify); an item the re-read no
longer finds is ``REFUSED`` (legacy) or ``STALE`` (MSI: unassigned from the
source) and not written. The window between that re-read and the write stays
open all the same. It is off by default: it costs a search per batch (two
under MSI) and changes no value written, because the hub is the master of
the item; it makes the journal's before-values the channel's at the time of
the write. Under MSI a sale does
not move a source quantity at all (it adds a reservation; the quantity moves
at shipment). Without it, a legacy change that leaves the quantity alone
(stock management switched off) still re-reads its item, because a legacy
write must send the channel's current ``qty`` with the flag.

Legacy writes send ``use_config_manage_stock``, ``manage_stock``, ``qty`` and
``is_in_stock`` always together, in one of two ways:

- by default one synchronous ``PUT /V1/products/{sku}/stockItems/1`` per SKU
  (``itemId`` is ignored by the server). Magento has no synchronous batch
  endpoint for stock items; this one needs nothing but the web server.
- with ``channel.bulk`` one ``PUT /async/bulk/V1/products/bySku/stockItems/
  byItemId`` per batch of up to ``BULK_BATCH`` items (a JSON array of the
  PUT's body with the route parameters ``productSku`` and ``itemId`` as
  fields), then
  ``GET /V1/bulk/{uuid}/status`` on the ``BULK_POLL`` schedule until no
  operation is open. It needs Magento's queue consumer running
  (``async.operations.all``): an operation still open after the last poll is
  ``DEFERRED`` (the consumer may apply it later; the next pass reads the
  truth). Operations are matched to items by their ``id``, the index of the
  item in the request (``request_items[].id``). Status 3 (failed) and 5
  (rejected) are ``REFUSED`` with Magento's ``result_message``; 2
  (retriably failed) is ``DEFERRED``. The window for a sale is wider here: it
  lasts until the consumer saves the item.

After the writes of a batch Magento answered 200 (or bulk status 1), the
written items are read back with the product search (one per ``PAGE_SIZE``
items), because Magento answers
200 to stock-item saves it did not store (configurable parents, items with
Manage Stock = No through the config); those come back ``FAILED``.

MSI writes post the batch in one ``POST /V1/inventory/source-items``, which
Magento saves in one transaction (no cap is documented; 250 keeps the body
small and matches the engine's common batch). They are not read back: the
endpoint documents no 200 that stores nothing, the whole save either succeeds
or answers an error, and only items read as source items are planned, so a
product type without a quantity of its own (which has no source item) never
gets there. Changing the manage-stock flag of an MSI item is refused with a
message: it lives on the legacy stock item, whose write would also set the
default source's quantity. A batch refused as a whole
(4xx) is written again item by item, so that every item gets its own outcome.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.channels.base import (
    ChannelItem,
    ChannelSnapshot,
    DesiredChange,
    ItemOutcome,
    ItemProblem,
    Outcome,
    PageSeen,
    RowTally,
    match_key,
)
from reconciler.channels.retry import with_retries
from reconciler.clock import Backoff, Clock, sleep_because
from reconciler.config.model import MagentoChannel
from reconciler.errors import (
    ChannelConfigError,
    ChannelRefused,
    ChannelThrottled,
    ChannelUnavailable,
    TemporaryError,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 300
DEFAULT_BACKOFF = Backoff()
WRITE_BATCH = 250
"""Changes per batch: the writes, one read-back (legacy), a re-read with recheck."""
SOURCE_BATCH = WRITE_BATCH
BULK_BATCH = 2_000
"""Operations per asynchronous bulk request: one PUT and one status poll for
up to this many items (a body of about 300 KB), read back a page at a time."""
BULK_STOCK_PATH = "/products/bySku/stockItems/byItemId"
BULK_POLL = Backoff(delays=(0.5, 1.0, 2.0, 4.0, 8.0, 15.0), attempts=10)
"""Waits before each bulk status poll: about 90 s in all, then ``DEFERRED``."""
OPEN, RETRIABLY_FAILED, FAILED, COMPLETE, REJECTED = 4, 2, 3, 1, 5
"""Bulk operation status codes (``GET /V1/bulk/{uuid}/status``)."""
NO_QTY_TYPES = frozenset({"configurable", "bundle", "grouped"})
MSI_FLAG_FIXED = (
    "under MSI Magento keeps Manage Stock on the product, not on source "
    "{source}, and this store writes only the source: set it in Magento "
    "(Advanced Inventory) or the SKU's manage_inventory in the config"
)
_PLACEHOLDER = re.compile(r"%(\w+)")


class ItemRefused(ChannelRefused):
    """A 4xx about one item (or batch): refused, the store goes on."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, code=str(status))
        self.status = status


@dataclass(frozen=True, slots=True)
class _Current:
    """An item's value as re-read just before or after a write."""

    sku: str
    managed: bool
    quantity: float


@dataclass(frozen=True, slots=True)
class _Write:
    """A legacy change that passed its re-read, with the quantity to send."""

    change: DesiredChange
    quantity: float

    def stock_item(self) -> dict[str, Any]:
        return _stock_item_body(self.change.managed, self.quantity)

    def bulk_entry(self) -> dict[str, Any]:
        """The PUT's body with its route parameters as fields."""
        return {
            "productSku": self.change.ref,
            "itemId": "1",
            "stockItem": self.stock_item(),
        }


@dataclass
class _Sent:
    """What writing a batch gave: outcomes so far, items Magento stored."""

    outcomes: dict[str, ItemOutcome] = dataclasses.field(default_factory=dict)
    stored: list[DesiredChange] = dataclasses.field(default_factory=list)
    down: TemporaryError | None = None


@dataclass(frozen=True, slots=True)
class _Batch:
    """A batch's outcomes; ``down`` set when the channel failed every retry."""

    outcomes: list[ItemOutcome]
    down: TemporaryError | None


class MagentoAdapter:
    """A Magento store's legacy stock items, or its items at one MSI source."""

    def __init__(
        self,
        store: str,
        channel: MagentoChannel,
        client: httpx.Client,
        *,
        token: str | None,
        clock: Clock,
        backoff: Backoff = DEFAULT_BACKOFF,
        bulk_poll: Backoff = BULK_POLL,
    ) -> None:
        self.store = store
        self.channel = channel
        self._client = client
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._clock = clock
        self._backoff = backoff
        self._bulk_poll = bulk_poll
        store_code = quote(channel.store_code, safe="")
        self._prefix = f"/rest/{store_code}/V1"
        self._bulk_prefix = f"/rest/{store_code}/async/bulk/V1"

    @property
    def max_batch(self) -> int:
        return BULK_BATCH if self.channel.bulk else WRITE_BATCH

    def close(self) -> None:
        self._client.close()

    # --- reading ------------------------------------------------------------

    def read(
        self, skus: Collection[str] | None = None, on_page: PageSeen | None = None
    ) -> ChannelSnapshot:
        """Every item of the store (or only ``skus``), deduped case-insensitively.

        Under MSI ``on_page`` counts the product search's rows and then the
        source items'.
        """
        tally = RowTally(on_page)
        rows = (
            self._source_rows(skus, tally)
            if self.channel.source
            else self._product_rows(skus, tally)
        )
        items: dict[str, ChannelItem] = {}
        for item in rows:
            items.setdefault(match_key(item.sku, casefold=True), item)
        if skus is not None:
            wanted = {match_key(sku, casefold=True) for sku in skus}
            items = {key: item for key, item in items.items() if key in wanted}
        log.info("event=magento.read store=%s items=%d", self.store, len(items))
        fixed = MSI_FLAG_FIXED.format(source=self.channel.source)
        return ChannelSnapshot(
            store=self.store,
            items=items,
            casefold=True,
            managed_fixed=fixed if self.channel.source else None,
        )

    def _product_rows(
        self, skus: Collection[str] | None, tally: RowTally
    ) -> Iterator[ChannelItem]:
        for filters in _sku_filters(skus, []):
            for row in self._pages("/products", filters, sort="entity_id", tally=tally):
                if str(row.get("sku") or "").strip():
                    yield self._legacy_item(row)

    def _source_rows(
        self, skus: Collection[str] | None, tally: RowTally
    ) -> Iterator[ChannelItem]:
        flags = self._manage_flags(skus, tally)
        source = [("source_code", self.channel.source or "", "eq")]
        path = "/inventory/source-items"
        found = 0
        for filters in _sku_filters(skus, source):
            for row in self._pages(path, filters, sort="sku", tally=tally):
                found += 1
                if str(row.get("sku") or "").strip():
                    yield self._source_item(row, flags)
        if skus is None and flags and not found:
            raise ChannelConfigError(
                f"{self.store}: source {self.channel.source!r} holds none of the "
                f"{len(flags):,} products of the store; is channel.source the "
                f"code of one of its MSI sources?"
            )

    def _manage_flags(
        self, skus: Collection[str] | None, tally: RowTally | None = None
    ) -> dict[str, bool]:
        """Each product's effective manage-stock flag, by casefolded SKU."""
        flags: dict[str, bool] = {}
        for filters in _sku_filters(skus, []):
            for row in self._pages("/products", filters, sort="entity_id", tally=tally):
                stock = (row.get("extension_attributes") or {}).get("stock_item")
                if isinstance(stock, dict) and row.get("sku"):
                    key = str(row["sku"]).casefold()
                    flags.setdefault(key, self._resolve_managed(stock))
        return flags

    def _pages(
        self,
        path: str,
        filters: list[tuple[str, str, str]],
        *,
        sort: str,
        tally: RowTally | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Rows of every page, stopping at ``total_count`` (not at a short page)."""
        page, last = 1, 1
        while page <= last:
            params = _search_params(filters, sort=sort, page=page)
            data = self._call("GET", path, params=params, what=f"read page {page}")
            last = max(1, math.ceil(int(data.get("total_count") or 0) / PAGE_SIZE))
            rows = data.get("items") or []
            yield from rows
            if tally is not None:
                tally.page(len(rows))
            page += 1

    def _legacy_item(self, product: Mapping[str, Any]) -> ChannelItem:
        sku = str(product["sku"])
        stock = (product.get("extension_attributes") or {}).get("stock_item")
        type_id = str(product.get("type_id") or "simple")
        if not isinstance(stock, dict):
            reason = f"{type_id} product without a stock item"
            return ChannelItem(
                sku, sku, False, None, None, ItemProblem.NOT_WRITABLE, reason
            )
        managed = self._resolve_managed(stock)
        if type_id in NO_QTY_TYPES:
            reason = f"{type_id} product: Magento keeps no quantity of its own"
            return ChannelItem(
                sku, sku, managed, None, None, ItemProblem.NOT_WRITABLE, reason
            )
        return _with_quantity(
            sku, managed, stock.get("qty"), bool(stock["is_in_stock"])
        )

    def _source_item(
        self, row: Mapping[str, Any], flags: Mapping[str, bool]
    ) -> ChannelItem:
        sku = str(row["sku"])
        managed = flags.get(sku.casefold(), self.channel.manage_stock_default)
        return _with_quantity(sku, managed, row.get("quantity"), row.get("status") == 1)

    def _resolve_managed(self, stock: Mapping[str, Any]) -> bool:
        if stock.get("use_config_manage_stock"):
            return self.channel.manage_stock_default
        return bool(stock.get("manage_stock"))

    # --- writing ------------------------------------------------------------

    def write(self, changes: Sequence[DesiredChange]) -> list[ItemOutcome]:
        """One outcome per change; see the module docstring for the protocol."""
        outcomes: list[ItemOutcome] = []
        down: TemporaryError | None = None
        size = self.max_batch
        for start in range(0, len(changes), size):
            batch = changes[start : start + size]
            if down is None:
                written = self._write_batch(batch)
                outcomes.extend(written.outcomes)
                down = written.down
            else:
                outcomes.extend(_deferred(change.sku, down) for change in batch)
        for outcome in outcomes:
            log.info(
                "event=magento.write store=%s sku=%s outcome=%s code=%s",
                self.store,
                outcome.sku,
                outcome.outcome.value,
                outcome.code,
            )
        return outcomes

    def _write_batch(self, batch: Sequence[DesiredChange]) -> _Batch:
        """One batch; a channel down for good defers the rest of the write."""
        try:
            if self.channel.source:
                return self._write_source_batch(batch)
            return self._write_legacy_batch(batch)
        except TemporaryError as error:
            return _Batch([_deferred(change.sku, error) for change in batch], error)

    # --- writing, legacy stock items ------------------------------------------

    def _write_legacy_batch(self, batch: Sequence[DesiredChange]) -> _Batch:
        reread = self._reread(batch)
        current = self._stock_values([change.ref for change in reread])
        checked_skus = {change.sku for change in reread}
        outcomes: dict[str, ItemOutcome] = {}
        writes: list[_Write] = []
        for change in batch:
            if change.sku in checked_skus:
                now = current.get(change.ref.casefold())
                checked = _legacy_precheck(change, now, moves=self.channel.recheck)
            else:
                checked = _Write(change, change.quantity or 0)
            if isinstance(checked, _Write):
                writes.append(checked)
            else:
                outcomes[change.sku] = checked

        sent = self._put_bulk(writes) if self.channel.bulk else self._put_each(writes)
        outcomes.update(sent.outcomes)

        read_back, down = self._read_back(sent.stored)
        outcomes.update(read_back)
        return _Batch([outcomes[change.sku] for change in batch], sent.down or down)

    def _reread(self, batch: Sequence[DesiredChange]) -> list[DesiredChange]:
        """The changes to re-read before writing (see the module docstring)."""
        if self.channel.recheck:
            return list(batch)
        return [change for change in batch if change.quantity is None]

    def _stock_values(self, refs: Sequence[str]) -> dict[str, _Current]:
        """The stock items of ``refs`` by casefolded SKU, one search per 300."""
        current: dict[str, _Current] = {}
        for filters in _sku_filters(refs, []):
            for row in self._pages("/products", filters, sort="entity_id"):
                stock = (row.get("extension_attributes") or {}).get("stock_item")
                if isinstance(stock, dict) and row.get("sku"):
                    sku = str(row["sku"])
                    quantity = float(stock.get("qty") or 0)
                    managed = self._resolve_managed(stock)
                    current.setdefault(sku.casefold(), _Current(sku, managed, quantity))
        return current

    def _put_each(self, writes: Sequence[_Write]) -> _Sent:
        """One synchronous PUT per SKU; a channel down defers the rest."""
        sent = _Sent()
        for write in writes:
            sku = write.change.sku
            if sent.down is not None:
                sent.outcomes[sku] = _deferred(sku, sent.down)
                continue
            try:
                path = f"/products/{_segment(write.change.ref)}/stockItems/1"
                body = {"stockItem": write.stock_item()}
                self._call("PUT", path, json=body, what=f"write {sku}")
                sent.stored.append(write.change)
            except ItemRefused as refusal:
                sent.outcomes[sku] = _refused(sku, refusal)
            except TemporaryError as error:
                sent.down = error
                sent.outcomes[sku] = _deferred(sku, error)
        return sent

    def _put_bulk(self, writes: Sequence[_Write]) -> _Sent:
        """One asynchronous bulk request for the batch, then its status polls."""
        sent = _Sent()
        reply = self._queue_bulk(writes, sent) if writes else None
        accepted = self._accepted(writes, reply, sent) if reply else {}
        if not accepted or reply is None:
            return sent

        uuid = str(reply.get("bulk_uuid") or "")
        try:
            operations = self._poll_bulk(uuid, len(accepted))
        except TemporaryError as error:
            sent.outcomes.update(
                {c.sku: _unpolled(c.sku, uuid, error) for c in accepted.values()}
            )
            sent.down = error
            return sent
        for index, change in accepted.items():
            outcome = _operation_outcome(change, operations.get(index), uuid)
            if outcome is None:
                sent.stored.append(change)
            else:
                sent.outcomes[change.sku] = outcome
        return sent

    def _queue_bulk(
        self, writes: Sequence[_Write], sent: _Sent
    ) -> Mapping[str, Any] | None:
        """The bulk request's reply; ``None`` when it was refused or failed."""
        body = [write.bulk_entry() for write in writes]
        try:
            reply: Mapping[str, Any] = self._call(
                "PUT", BULK_STOCK_PATH, json=body, what="bulk write", bulk=True
            )
            return reply
        except ItemRefused as refusal:
            sent.outcomes = {
                w.change.sku: _refused(w.change.sku, refusal) for w in writes
            }
        except TemporaryError as error:
            sent.outcomes = {
                w.change.sku: _deferred(w.change.sku, error) for w in writes
            }
            sent.down = error
        return None

    def _accepted(
        self, writes: Sequence[_Write], reply: Mapping[str, Any], sent: _Sent
    ) -> dict[int, DesiredChange]:
        """Items Magento queued, by operation id; the rejected get outcomes."""
        statuses = {
            int(item["id"]): item
            for item in reply.get("request_items") or []
            if isinstance(item, dict) and "id" in item
        }
        accepted: dict[int, DesiredChange] = {}
        for index, write in enumerate(writes):
            item = statuses.get(index) or {}
            if item.get("status") == "accepted":
                accepted[index] = write.change
            else:
                message = str(item.get("error_message") or "not queued by Magento")
                sent.outcomes[write.change.sku] = ItemOutcome(
                    write.change.sku, Outcome.REFUSED, "rejected", message
                )
        return accepted

    def _poll_bulk(self, uuid: str, count: int) -> dict[int, Mapping[str, Any]]:
        """The bulk's operations by id, polled until none is open (or time is up)."""
        operations: dict[int, Mapping[str, Any]] = {}
        for attempt in range(self._bulk_poll.attempts):
            sleep_because(self._clock, self._bulk_poll.delay(attempt), "poll")
            path = f"/bulk/{_segment(uuid)}/status"
            status = self._call("GET", path, what=f"bulk status {uuid}")
            operations = {
                int(operation["id"]): operation
                for operation in status.get("operations_list") or []
                if isinstance(operation, dict) and "id" in operation
            }
            still_open = count - sum(
                1 for op in operations.values() if op.get("status") != OPEN
            )
            log.debug(
                "event=magento.bulk_status store=%s bulk=%s poll=%d open=%d",
                self.store,
                uuid,
                attempt + 1,
                still_open,
            )
            if still_open == 0:
                return operations
        log.warning(
            "event=magento.bulk_open store=%s bulk=%s polls=%d next=deferred",
            self.store,
            uuid,
            self._bulk_poll.attempts,
        )
        return operations

    def _read_back(
        self, stored: Sequence[DesiredChange]
    ) -> tuple[dict[str, ItemOutcome], TemporaryError | None]:
        """``APPLIED`` or ``FAILED`` for every item Magento said it stored."""
        if not stored:
            return {}, None
        try:
            after = self._stock_values([change.ref for change in stored])
        except TemporaryError as error:
            return {c.sku: _unconfirmed(c.sku, error) for c in stored}, error
        return {c.sku: _verified(c, after.get(c.ref.casefold())) for c in stored}, None

    # --- writing, MSI source items ------------------------------------------

    def _write_source_batch(self, batch: Sequence[DesiredChange]) -> _Batch:
        current = (
            self._source_values([change.ref for change in batch])
            if self.channel.recheck
            else None
        )
        outcomes: dict[str, ItemOutcome] = {}
        to_write: list[DesiredChange] = []
        for change in batch:
            outcome = self._source_precheck(change, current)
            if outcome is None:
                to_write.append(change)
            else:
                outcomes[change.sku] = outcome

        sent = self._post_source_items(to_write)
        outcomes.update(sent.outcomes)
        return _Batch([outcomes[change.sku] for change in batch], sent.down)

    def _source_precheck(
        self, change: DesiredChange, current: Mapping[str, _Current] | None
    ) -> ItemOutcome | None:
        """Why a change is not posted (``None``: post it); ``current`` is the
        re-read with ``channel.recheck``."""
        now = current.get(change.ref.casefold()) if current is not None else None
        if current is not None and now is None:
            message = f"no longer assigned to source {self.channel.source}"
            return ItemOutcome(change.sku, Outcome.STALE, message=message)
        if now is not None and _moved(change, now):
            return _stale(change.sku, now)
        if change.managed != change.expected_managed or change.quantity is None:
            message = _flag_not_written(change, self.channel.source or "")
            return ItemOutcome(change.sku, Outcome.REFUSED, "unsupported", message)
        return None

    def _post_source_items(self, changes: Sequence[DesiredChange]) -> _Sent:
        """One save for the batch; ``APPLIED`` on 200 (see the module docstring)."""
        sent = _Sent()
        if not changes:
            return sent
        body = {"sourceItems": [self._source_body(change) for change in changes]}
        try:
            self._call("POST", "/inventory/source-items", json=body, what="write batch")
        except ItemRefused as refusal:
            if len(changes) == 1:
                sent.outcomes[changes[0].sku] = _refused(changes[0].sku, refusal)
                return sent
            return self._post_one_by_one(changes)
        except TemporaryError as error:
            sent.outcomes = {c.sku: _deferred(c.sku, error) for c in changes}
            sent.down = error
            return sent
        sent.outcomes = {c.sku: _applied(c) for c in changes}
        return sent

    def _post_one_by_one(self, changes: Sequence[DesiredChange]) -> _Sent:
        """A batch refused as a whole: each item alone, for its own outcome."""
        log.info(
            "event=magento.batch_refused store=%s sku_count=%d next=item_by_item",
            self.store,
            len(changes),
        )
        sent = _Sent()
        for change in changes:
            if sent.down is not None:
                sent.outcomes[change.sku] = _deferred(change.sku, sent.down)
                continue
            alone = self._post_source_items([change])
            sent.outcomes.update(alone.outcomes)
            sent.down = alone.down
        return sent

    def _source_body(self, change: DesiredChange) -> dict[str, Any]:
        quantity = change.quantity or 0
        return {
            "sku": change.ref,
            "source_code": self.channel.source,
            "quantity": quantity,
            "status": int(_in_stock(change.managed, quantity)),
        }

    def _source_values(self, refs: Sequence[str]) -> dict[str, _Current]:
        filters = [
            ("source_code", self.channel.source or "", "eq"),
            ("sku", ",".join(refs), "in"),
        ]
        params = _search_params(filters, sort="sku", page=1, size=len(refs))
        data = self._call("GET", "/inventory/source-items", params=params, what="check")
        flags = self._manage_flags(refs)
        default = self.channel.manage_stock_default
        return {
            str(row["sku"]).casefold(): _Current(
                str(row["sku"]),
                flags.get(str(row["sku"]).casefold(), default),
                float(row.get("quantity") or 0),
            )
            for row in data.get("items") or []
        }

    # --- transport ----------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, what: str, bulk: bool = False, **options: Any
    ) -> Any:
        """One request with retries; returns the parsed JSON body.

        ``bulk`` sends it below the asynchronous bulk prefix
        (``/rest/{store_code}/async/bulk/V1``) instead of ``/rest/{store_code}/V1``.
        """
        prefix = self._bulk_prefix if bulk else self._prefix

        def attempt() -> Any:
            return self._send(method, prefix + path, what, **options)

        return with_retries(
            attempt,
            clock=self._clock,
            backoff=self._backoff,
            what=what,
            store=self.store,
        )

    def _send(self, method: str, url: str, what: str, **options: Any) -> Any:
        try:
            response = self._client.request(
                method, url, headers=self._headers, **options
            )
        except httpx.TimeoutException as error:
            waited = self._client.timeout.read
            message = f"{self.store}: {what} timed out after {waited:g} s"
            raise ChannelUnavailable(message) from error
        except httpx.TransportError as error:
            message = f"{self.store}: connection failed ({type(error).__name__})"
            raise ChannelUnavailable(message) from error
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> Any:
        status = response.status_code
        if status < 300:
            return response.json() if response.content else None
        message = render_error(_json_or_text(response))
        hint = _retry_after(response)
        if status == 429:
            raise ChannelThrottled(f"{self.store}: throttled", retry_after=hint)
        if status >= 500:
            text = f"{self.store}: HTTP {status}: {message}"
            raise ChannelUnavailable(text, retry_after=hint)
        if status in (401, 403):
            text = f"{self.store}: Magento refused the credentials (HTTP {status})"
            raise ChannelRefused(f"{text}: {message}", code=str(status))
        raise ItemRefused(message, status=status)


# --- request shapes ----------------------------------------------------------


def _segment(sku: str) -> str:
    """A SKU as one path segment: ``/``, space, ``#``, ``?`` and ``%`` encoded."""
    return quote(sku, safe="")


def _sku_filters(
    skus: Collection[str] | None, base: list[tuple[str, str, str]]
) -> Iterator[list[tuple[str, str, str]]]:
    """Filter sets covering the wanted SKUs (all when ``None``).

    An ``in`` filter takes a comma-separated list, so a SKU holding a comma
    gets an ``eq`` filter of its own.
    """
    if skus is None:
        yield base
        return
    plain = sorted({sku.strip() for sku in skus if "," not in sku and sku.strip()})
    for start in range(0, len(plain), PAGE_SIZE):
        chunk = ",".join(plain[start : start + PAGE_SIZE])
        yield [*base, ("sku", chunk, "in")]
    for sku in sorted(sku for sku in skus if "," in sku):
        yield [*base, ("sku", sku, "eq")]


def _search_params(
    filters: list[tuple[str, str, str]],
    *,
    sort: str,
    page: int,
    size: int = PAGE_SIZE,
) -> list[tuple[str, str]]:
    """``searchCriteria`` query parameters; each filter in its own (AND) group."""
    params: list[tuple[str, str]] = []
    for index, (field, value, condition) in enumerate(filters):
        group = f"searchCriteria[filter_groups][{index}][filters][0]"
        params += [
            (f"{group}[field]", field),
            (f"{group}[value]", value),
            (f"{group}[condition_type]", condition),
        ]
    params += [
        ("searchCriteria[sortOrders][0][field]", sort),
        ("searchCriteria[sortOrders][0][direction]", "ASC"),
        ("searchCriteria[pageSize]", str(size)),
        ("searchCriteria[currentPage]", str(page)),
    ]
    return params


def _stock_item_body(managed: bool, quantity: float) -> dict[str, Any]:
    return {
        "use_config_manage_stock": False,
        "manage_stock": managed,
        "qty": quantity,
        "is_in_stock": _in_stock(managed, quantity),
    }


def _in_stock(managed: bool, quantity: float) -> bool:
    """DESIGN.md section 5: out of stock only when managed and nothing left."""
    return not (managed and quantity <= 0)


# --- outcomes ----------------------------------------------------------------


def _with_quantity(sku: str, managed: bool, raw: Any, in_stock: bool) -> ChannelItem:
    quantity = float(raw or 0)
    if not quantity.is_integer():
        detail = f"decimal quantity {quantity:g}: the hub keeps whole units"
        return ChannelItem(
            sku,
            sku,
            managed,
            math.floor(quantity),
            in_stock,
            ItemProblem.NOT_WRITABLE,
            detail,
        )
    return ChannelItem(sku, sku, managed, int(quantity), in_stock)


def _legacy_precheck(
    change: DesiredChange, current: _Current | None, *, moves: bool
) -> _Write | ItemOutcome:
    """The write to send, or why the item is left alone; ``moves`` makes an
    item that moved since the plan's read stale (``channel.recheck``)."""
    if current is None:
        message = "not found on the channel when re-read before writing; not written"
        return ItemOutcome(change.sku, Outcome.REFUSED, "not_found", message)
    if moves and _moved(change, current):
        return _stale(change.sku, current)
    quantity = current.quantity if change.quantity is None else change.quantity
    return _Write(change, quantity)


def _flag_not_written(change: DesiredChange, source: str) -> str:
    def word(managed: bool) -> str:
        return "Yes" if managed else "No"

    return (
        f"Manage Stock is {word(change.expected_managed)} in Magento but "
        f"{word(change.managed)} in the hub; under MSI it is kept on the product, "
        f"not on source {source}, and is not written: set it in Magento "
        f"(Advanced Inventory) or the SKU's manage_inventory in the config"
    )


def _operation_outcome(
    change: DesiredChange, operation: Mapping[str, Any] | None, uuid: str
) -> ItemOutcome | None:
    """A bulk operation's outcome; ``None`` when complete (to be read back)."""
    status = operation.get("status") if operation is not None else None
    if status == COMPLETE:
        return None
    text = str((operation or {}).get("result_message") or "")
    if status in (FAILED, REJECTED):
        code = str((operation or {}).get("error_code") or "")
        fallback = "failed" if status == FAILED else "rejected"
        message = text or f"bulk operation {fallback} without a message"
        return ItemOutcome(change.sku, Outcome.REFUSED, code or fallback, message)
    if status == RETRIABLY_FAILED:
        message = f"bulk {uuid}: retriably failed: {text or 'no message'}"
        return ItemOutcome(change.sku, Outcome.DEFERRED, "retriable", message)
    message = (
        f"bulk {uuid}: still queued after every status poll; is Magento's "
        f"consumer (async.operations.all) running?"
    )
    return ItemOutcome(change.sku, Outcome.DEFERRED, "open", message)


def _moved(change: DesiredChange, current: _Current) -> bool:
    if current.managed != change.expected_managed:
        return True
    expected = change.expected_quantity
    return expected is not None and current.quantity != expected


def _stale(sku: str, current: _Current) -> ItemOutcome:
    message = "changed on the channel since it was read; not overwritten"
    return ItemOutcome(
        sku, Outcome.STALE, message=message, quantity_after=int(current.quantity)
    )


def _verified(change: DesiredChange, after: _Current | None) -> ItemOutcome:
    """``APPLIED`` only when reading back shows the written value."""
    if after is None:
        message = "Magento answered 200 but the item is gone on reading back"
        return ItemOutcome(change.sku, Outcome.FAILED, message=message)
    stored_quantity = change.quantity is None or after.quantity == change.quantity
    if after.managed == change.managed and stored_quantity:
        return ItemOutcome(
            change.sku, Outcome.APPLIED, quantity_after=int(after.quantity)
        )
    message = (
        f"Magento answered 200 but stored nothing: reading back gives "
        f"qty {after.quantity:g}, managed {str(after.managed).lower()} "
        f"(a product without its own quantity, or stock unmanaged by config)"
    )
    return ItemOutcome(
        change.sku, Outcome.FAILED, message=message, quantity_after=int(after.quantity)
    )


def _applied(change: DesiredChange) -> ItemOutcome:
    return ItemOutcome(change.sku, Outcome.APPLIED, quantity_after=change.quantity)


def _unconfirmed(sku: str, error: TemporaryError) -> ItemOutcome:
    message = f"written, but reading back failed after every retry: {error}"
    return ItemOutcome(sku, Outcome.DEFERRED, type(error).__name__, message)


def _unpolled(sku: str, uuid: str, error: TemporaryError) -> ItemOutcome:
    message = f"queued in bulk {uuid}, but its status could not be read: {error}"
    return ItemOutcome(sku, Outcome.DEFERRED, type(error).__name__, message)


def _refused(sku: str, refusal: ItemRefused) -> ItemOutcome:
    return ItemOutcome(sku, Outcome.REFUSED, refusal.code, str(refusal))


def _deferred(sku: str, error: TemporaryError) -> ItemOutcome:
    message = f"channel unavailable after every retry: {error}"
    return ItemOutcome(sku, Outcome.DEFERRED, type(error).__name__, message)


# --- error bodies ------------------------------------------------------------


def render_error(body: Any) -> str:
    """Magento's error text with ``%1`` / ``%name`` filled from ``parameters``.

    ``parameters`` comes as a list of strings (the docs), a list of objects
    such as ``{"fieldName": ..., "fieldValue": ...}`` (the Swagger), or a
    name -> value map (the server for named placeholders); all three work.
    Nested ``errors`` are appended.
    """
    if not isinstance(body, dict):
        return str(body or "no error message")[:300]
    positional, named = _parameters(body.get("parameters"))
    text = _substitute(
        str(body.get("message") or "no error message"), positional, named
    )
    details = [render_error(e) for e in body.get("errors") or [] if isinstance(e, dict)]
    return "; ".join([text, *details])


def _parameters(raw: Any) -> tuple[list[str], dict[str, str]]:
    if isinstance(raw, dict):
        named = {str(key): str(value) for key, value in raw.items()}
        return list(named.values()), named
    positional: list[str] = []
    named = {}
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict):
            named.update({str(key): str(value) for key, value in entry.items()})
            positional.append(str(entry.get("fieldValue", entry)))
        else:
            positional.append(str(entry))
    return positional, named


def _substitute(message: str, positional: list[str], named: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.isdigit():
            index = int(key) - 1
            return positional[index] if 0 <= index < len(positional) else match.group(0)
        return named.get(key, match.group(0))

    return _PLACEHOLDER.sub(value, message)


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:300]


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None

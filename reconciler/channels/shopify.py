"""The Shopify adapter: stock at one location through the GraphQL Admin API.

Reads page through ``productVariants`` at the largest page the shop's cost
bucket allows; writes set ``available`` with ``inventorySetQuantities`` in
batches of 250 with compare-and-set, and ``tracked`` with
``inventoryItemUpdate``. Requests are paced by the ``throttleStatus`` every
answer carries, and every httpx or channel failure is translated into
``reconciler.errors`` here (channel-apis.md sections 1 and 4 hold the facts).

``inventorySetQuantities`` is treated as all-or-nothing: when an answer has
userErrors, the items they name get their outcome and the untouched rest of
the batch is sent again in a smaller call, so a refused item never holds back
the others and is never itself retried.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

import httpx

from reconciler.channels import shopify_queries as q
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
from reconciler.channels.retry import LeakyBucket, with_retries
from reconciler.clock import Backoff, Clock
from reconciler.config.model import ShopifyChannel
from reconciler.errors import (
    ChannelConfigError,
    ChannelRefused,
    ChannelThrottled,
    ChannelUnavailable,
    TemporaryError,
)

logger = logging.getLogger(__name__)

STALE_CODES = frozenset({"COMPARE_QUANTITY_STALE", "CHANGE_FROM_QUANTITY_STALE"})
NOT_STOCKED = "ITEM_NOT_STOCKED_AT_LOCATION"
SEARCH_CHUNK = 50
"""SKUs per ``sku:`` search; larger selections fall back to a full read."""
SEARCH_LIMIT = 500
DEFAULT_MAXIMUM = 1000.0
"""Shopify's documented bucket, assumed only until an answer reports its own."""
MAX_QUERY_COST = 1000.0
"""Shopify refuses any single query whose requested cost exceeds this, whatever
the bucket (a Plus shop's bucket is larger; its queries are not)."""

Json = dict[str, Any]
DEFAULT_BACKOFF = Backoff()


class ShopifyAdapter:
    """One store's Shopify shop and location, as the engine uses it."""

    def __init__(
        self,
        store: str,
        channel: ShopifyChannel,
        client: httpx.Client,
        *,
        token: str | None,
        clock: Clock,
        backoff: Backoff = DEFAULT_BACKOFF,
        run_id: str | None = None,
    ) -> None:
        self.store = store
        self._channel = channel
        self._client = client
        self._token = token
        self._clock = clock
        self._backoff = backoff
        self._path = f"/admin/api/{channel.api_version}/graphql.json"
        self._reference = f"gid://reconciler/SyncRun/{run_id or uuid.uuid4().hex}"
        self._bucket = LeakyBucket()
        self._location_id: str | None = None

    @property
    def max_batch(self) -> int:
        return q.MAX_PAGE

    def close(self) -> None:
        self._client.close()

    # --- reading ---------------------------------------------------------------

    def read(
        self, skus: Collection[str] | None = None, on_page: PageSeen | None = None
    ) -> ChannelSnapshot:
        """Every variant at the store's location, or only the given SKUs.

        The ``sku:`` search filter over-matches (it is tokenised), so a read of
        given SKUs keeps only the exact matches of what came back. ``on_page``
        counts the variants of each page.
        """
        location = self.location_id()
        wanted = None if skus is None else {match_key(s, casefold=False) for s in skus}
        nodes = self._variant_nodes(location, wanted, RowTally(on_page))
        snapshot = self._snapshot(nodes, wanted)
        logger.info(
            "event=shopify.read store=%s items=%d skipped_empty_sku=%d",
            self.store,
            len(snapshot.items),
            snapshot.skipped_empty_sku,
        )
        return snapshot

    def location_id(self) -> str:
        """The gid of the configured location, resolved by name or gid once."""
        if self._location_id is None:
            self._location_id = self._resolve_location()
        return self._location_id

    def _resolve_location(self) -> str:
        wanted = self._channel.location
        seen: list[str] = []
        for node in self._pages("locations", q.LOCATIONS, {}, q.LOCATION_NODE_COST):
            if wanted in (node.get("id"), node.get("name")):
                return str(node["id"])
            seen.append(f"{node.get('name')} ({node.get('id')})")
        listed = ", ".join(seen) or "none"
        raise ChannelConfigError(
            f"store {self.store}: location {wanted!r} not found on the shop; "
            f"locations seen: {listed}"
        )

    def _variant_nodes(
        self, location: str, wanted: set[str] | None, tally: RowTally
    ) -> list[Json]:
        if wanted is not None and not wanted:
            return []
        variables: Json = {"location": location, "query": None}
        if wanted is None or len(wanted) > SEARCH_LIMIT:
            pages = self._pages("productVariants", q.STOCK_PAGE, variables, tally=tally)
            return list(pages)
        unique: dict[str, Json] = {}
        ordered = sorted(wanted)
        for start in range(0, len(ordered), SEARCH_CHUNK):
            search = _sku_search(ordered[start : start + SEARCH_CHUNK])
            chunk_variables = {**variables, "query": search}
            pages = self._pages(
                "productVariants", q.STOCK_PAGE, chunk_variables, tally=tally
            )
            for node in pages:
                unique.setdefault(str(node.get("id")), node)
        return list(unique.values())

    def _pages(
        self,
        root: str,
        document: str,
        variables: Mapping[str, Any],
        node_cost: int = q.STOCK_NODE_COST,
        *,
        tally: RowTally | None = None,
    ) -> Iterator[Json]:
        """The nodes of a connection, page after page, at the largest page."""
        after: str | None = None
        while True:
            first = self._page_size(node_cost)
            page_variables = {**variables, "first": first, "after": after}
            cost = q.connection_cost(first, node_cost)
            data = self._call(root, document, page_variables, cost)
            connection = _mapping(data.get(root), root)
            nodes = connection.get("nodes") or []
            yield from (_mapping(node, root) for node in nodes)
            if tally is not None:
                tally.page(len(nodes))
            page_info = _mapping(connection.get("pageInfo"), "pageInfo")
            if not page_info.get("hasNextPage"):
                return
            after = str(page_info.get("endCursor"))

    def _page_size(self, node_cost: int) -> int:
        """The largest ``first`` whose requested cost fits the whole bucket."""
        maximum = min(self._bucket.maximum or DEFAULT_MAXIMUM, MAX_QUERY_COST)
        fits = int((maximum - q.CONNECTION_COST) // node_cost)
        return max(1, min(q.MAX_PAGE, fits))

    def _snapshot(self, nodes: list[Json], wanted: set[str] | None) -> ChannelSnapshot:
        groups: dict[str, list[Json]] = {}
        skipped = 0
        for node in nodes:
            key = match_key(str(node.get("sku") or ""), casefold=False)
            if not key:
                skipped += 1
            elif wanted is None or key in wanted:
                groups.setdefault(key, []).append(node)
        items = {key: _item(key, group) for key, group in groups.items()}
        return ChannelSnapshot(store=self.store, items=items, skipped_empty_sku=skipped)

    # --- writing ---------------------------------------------------------------

    def write(self, changes: Sequence[DesiredChange]) -> list[ItemOutcome]:
        """Set ``tracked`` where it differs, then ``available`` in batches of 250."""
        try:
            location = self.location_id()
        except TemporaryError as error:
            return [_deferred(change, error) for change in changes]
        outcomes: dict[int, ItemOutcome] = {}
        for index, change in enumerate(changes):
            if change.managed != change.expected_managed:
                tracked = self._set_tracked(change)
                if tracked.outcome is not Outcome.APPLIED:
                    outcomes[index] = tracked
        pending = [
            (index, change)
            for index, change in enumerate(changes)
            if index not in outcomes and _sets_quantity(change)
        ]
        for start in range(0, len(pending), q.MAX_PAGE):
            batch = pending[start : start + q.MAX_PAGE]
            outcomes.update(self._set_batch(batch, location))
        return [
            outcomes.get(index) or _applied(change, change.expected_quantity)
            for index, change in enumerate(changes)
        ]

    def _set_tracked(self, change: DesiredChange) -> ItemOutcome:
        variables = {"id": change.ref, "input": {"tracked": change.managed}}
        try:
            data = self._call("inventoryItemUpdate", q.SET_TRACKED, variables)
        except TemporaryError as error:
            return _deferred(change, error)
        except ChannelRefused as error:
            return _refused(change, error.code, str(error))
        errors = _user_errors(data, "inventoryItemUpdate")
        if errors:
            return _refused(change, errors[0].get("code"), _messages(errors))
        return _applied(change, change.expected_quantity)

    def _set_batch(
        self, batch: list[tuple[int, DesiredChange]], location: str
    ) -> dict[int, ItemOutcome]:
        """One batch; items named by userErrors drop out, the rest is resent."""
        outcomes: dict[int, ItemOutcome] = {}
        while batch:
            try:
                data = self._send_set([change for _, change in batch], location)
            except TemporaryError as error:
                return outcomes | {i: _deferred(c, error) for i, c in batch}
            except ChannelRefused as error:
                refused = {i: _refused(c, error.code, str(error)) for i, c in batch}
                return outcomes | refused
            errors = _user_errors(data, "inventorySetQuantities")
            if not errors:
                after = _quantities_after(data)
                return outcomes | {
                    i: _applied(c, after.get(c.ref, c.quantity)) for i, c in batch
                }
            named = _errors_by_position(errors, len(batch))
            if named is None:
                message = _messages(errors)
                code = errors[0].get("code")
                return outcomes | {i: _refused(c, code, message) for i, c in batch}
            for position, user_error in named.items():
                index, change = batch[position]
                outcomes[index] = self._item_error(change, user_error, location)
            batch = [entry for pos, entry in enumerate(batch) if pos not in named]
        return outcomes

    def _send_set(self, changes: list[DesiredChange], location: str) -> Json:
        change_from = q.uses_change_from(self._channel.api_version)
        field = "changeFromQuantity" if change_from else "compareQuantity"
        quantities = [
            {
                "inventoryItemId": change.ref,
                "locationId": location,
                "quantity": change.quantity,
                field: change.expected_quantity,
            }
            for change in changes
        ]
        set_input: Json = {
            "name": "available",
            "reason": "correction",
            "referenceDocumentUri": self._reference,
            "quantities": quantities,
        }
        logger.info(
            "event=shopify.set_batch store=%s sku_count=%d", self.store, len(changes)
        )
        if not change_from:
            variables: Json = {"input": set_input}
            return self._call("inventorySetQuantities", q.SET_AVAILABLE, variables)
        variables = {"input": set_input, "key": _idempotency_key(set_input)}
        document = q.SET_AVAILABLE_IDEMPOTENT
        return self._call("inventorySetQuantities", document, variables)

    def _item_error(
        self, change: DesiredChange, error: Json, location: str
    ) -> ItemOutcome:
        code = error.get("code")
        message = str(error.get("message") or "")
        if code in STALE_CODES:
            return ItemOutcome(change.sku, Outcome.STALE, code=code, message=message)
        if code == NOT_STOCKED and self._channel.activate_unstocked:
            return self._activate(change, location)
        if code == NOT_STOCKED:
            message = (
                f"SKU {change.sku} is not stocked at location "
                f"{self._channel.location!r} of store {self.store}; stock it there "
                "in Shopify, or set activate_unstocked: true to let the "
                f"reconciler do it ({message})"
            )
        return _refused(change, code, message)

    def _activate(self, change: DesiredChange, location: str) -> ItemOutcome:
        variables = {
            "item": change.ref,
            "location": location,
            "available": change.quantity,
        }
        try:
            data = self._call("inventoryActivate", q.ACTIVATE, variables)
        except TemporaryError as error:
            return _deferred(change, error)
        except ChannelRefused as error:
            return _refused(change, error.code, str(error))
        errors = _user_errors(data, "inventoryActivate")
        if errors:
            return _refused(change, errors[0].get("code"), _messages(errors))
        logger.info("event=shopify.activated store=%s sku=%s", self.store, change.sku)
        return _applied(change, change.quantity)

    # --- one request -----------------------------------------------------------

    def _call(
        self,
        what: str,
        document: str,
        variables: Mapping[str, Any],
        cost: int = q.MUTATION_COST,
    ) -> Json:
        """One GraphQL request with pacing and retries; the answer's ``data``."""
        body = {"query": document, "variables": dict(variables)}
        return with_retries(
            lambda: self._attempt(what, body, cost),
            clock=self._clock,
            backoff=self._backoff,
            what=what,
            store=self.store,
        )

    def _attempt(self, what: str, body: Json, cost: int) -> Json:
        wait = self._bucket.wait_for(cost, self._clock.monotonic())
        if wait > 0:
            logger.debug(
                "event=shopify.pace store=%s what=%s cost=%d wait=%.3f",
                self.store,
                what,
                cost,
                wait,
            )
            self._clock.sleep(wait)
        response = self._send(what, body)
        payload = self._payload(response, what)
        self._observe(payload)
        if response.status_code == 429:
            raise ChannelThrottled(
                f"store {self.store}: Shopify throttled {what} (HTTP 429)",
                retry_after=_retry_after(response)
                or self._throttle_wait(payload, cost),
            )
        _raise_for_errors(self.store, what, payload, self._throttle_wait(payload, cost))
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ChannelUnavailable(f"store {self.store}: {what} answered no data")
        return data

    def _send(self, what: str, body: Json) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["X-Shopify-Access-Token"] = self._token
        try:
            response = self._client.post(self._path, json=body, headers=headers)
        except httpx.TimeoutException as error:
            waited = self._client.timeout.read
            message = f"store {self.store}: {what} timed out after {waited:g} s"
            raise ChannelUnavailable(message) from error
        except httpx.HTTPError as error:
            raise ChannelUnavailable(
                f"store {self.store}: {what} failed: {type(error).__name__}"
            ) from error
        _raise_for_status(self.store, what, response)
        return response

    def _payload(self, response: httpx.Response, what: str) -> Json:
        try:
            payload = response.json()
        except ValueError as error:
            raise ChannelUnavailable(
                f"store {self.store}: {what} answered HTTP "
                f"{response.status_code} without JSON"
            ) from error
        return payload if isinstance(payload, dict) else {}

    def _observe(self, payload: Json) -> None:
        """Remember the bucket the answer reports; answers without one are fine."""
        status = _throttle_status(payload)
        if status is None:
            return
        self._bucket.observe(
            maximum=status["maximumAvailable"],
            available=status["currentlyAvailable"],
            restore_rate=status["restoreRate"],
            now=self._clock.monotonic(),
        )

    def _throttle_wait(self, payload: Json, cost: int) -> float | None:
        """(cost - currentlyAvailable) / restoreRate, from the answer's figures."""
        status = _throttle_status(payload)
        if status is None or status["restoreRate"] <= 0:
            return None
        requested = _number(_cost_block(payload).get("requestedQueryCost")) or cost
        return max(
            0.0, (requested - status["currentlyAvailable"]) / status["restoreRate"]
        )


# --- answers -------------------------------------------------------------------


def _raise_for_status(store: str, what: str, response: httpx.Response) -> None:
    status = response.status_code
    if status in (401, 403):
        raise ChannelRefused(
            f"store {store}: Shopify refused the access token for {what} "
            f"(HTTP {status}); check the store's token environment variable",
            code=f"HTTP_{status}",
        )
    if status >= 500:
        raise ChannelUnavailable(f"store {store}: {what} got HTTP {status}")
    if status >= 400 and status != 429:
        raise ChannelRefused(
            f"store {store}: {what} got HTTP {status}", code=f"HTTP_{status}"
        )


def _raise_for_errors(
    store: str, what: str, payload: Json, throttle_wait: float | None
) -> None:
    errors = payload.get("errors")
    if not errors:
        return
    if isinstance(errors, str):
        raise ChannelRefused(f"store {store}: {what} refused: {errors}")
    codes = [_error_code(error) for error in errors]
    if "THROTTLED" in codes:
        raise ChannelThrottled(
            f"store {store}: Shopify throttled {what}", retry_after=throttle_wait
        )
    messages = "; ".join(str(_mapping(e, "error").get("message")) for e in errors)
    code = next((c for c in codes if c), None)
    raise ChannelRefused(f"store {store}: {what} refused: {messages}", code=code)


def _error_code(error: Any) -> str | None:
    extensions = _mapping(error, "error").get("extensions")
    if isinstance(extensions, dict) and extensions.get("code"):
        return str(extensions["code"])
    return None


def _cost_block(payload: Json) -> Json:
    extensions = payload.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    return cost if isinstance(cost, dict) else {}


def _throttle_status(payload: Json) -> dict[str, float] | None:
    status = _cost_block(payload).get("throttleStatus")
    if not isinstance(status, dict):
        return None
    keys = ("maximumAvailable", "currentlyAvailable", "restoreRate")
    numbers = {key: _number(status.get(key)) for key in keys}
    if any(value is None for value in numbers.values()):
        return None
    return {key: float(value or 0.0) for key, value in numbers.items()}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _mapping(value: Any, what: str) -> Json:
    if not isinstance(value, dict):
        raise ChannelUnavailable(f"Shopify answer has no {what} object")
    return value


def _user_errors(data: Json, root: str) -> list[Json]:
    payload = data.get(root)
    errors = payload.get("userErrors") if isinstance(payload, dict) else None
    return [e for e in errors or [] if isinstance(e, dict)]


def _messages(errors: list[Json]) -> str:
    return "; ".join(str(error.get("message")) for error in errors)


def _errors_by_position(errors: list[Json], size: int) -> dict[int, Json] | None:
    """userErrors keyed by the batch position their ``field`` path names.

    ``["input", "quantities", "3", "quantity"]`` names position 3. ``None``
    when an error names no position: it concerns the whole call.
    """
    named: dict[int, Json] = {}
    for error in errors:
        field = error.get("field") or []
        if len(field) < 3 or field[1] != "quantities" or not str(field[2]).isdigit():
            return None
        position = int(field[2])
        if position >= size:
            return None
        named.setdefault(position, error)
    return named


def _quantities_after(data: Json) -> dict[str, int]:
    payload = data.get("inventorySetQuantities")
    group = payload.get("inventoryAdjustmentGroup") if payload else None
    changes = group.get("changes") if isinstance(group, dict) else None
    after: dict[str, int] = {}
    for change in changes or []:
        item = change.get("item") or {}
        if isinstance(change.get("quantityAfterChange"), int) and item.get("id"):
            after[str(item["id"])] = change["quantityAfterChange"]
    return after


def _idempotency_key(set_input: Json) -> str:
    """A key fixed by the batch's content (run reference included).

    A retry of the same batch sends the same key, so Shopify answers it with
    the first result instead of applying it twice.
    """
    content = json.dumps(set_input, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()[:40]


def _sku_search(skus: Sequence[str]) -> str:
    """A search string for these SKUs: quoted, backslash and quote escaped."""
    return " OR ".join(f'sku:"{_escape(sku)}"' for sku in skus)


def _escape(sku: str) -> str:
    return sku.replace("\\", "\\\\").replace('"', '\\"')


def _item(sku: str, variants: list[Json]) -> ChannelItem:
    inventory = [_mapping(v.get("inventoryItem"), "inventoryItem") for v in variants]
    refs = list(dict.fromkeys(str(item.get("id")) for item in inventory))
    first = inventory[0]
    managed = bool(first.get("tracked"))
    if len(refs) > 1:
        return ChannelItem(
            sku=sku,
            ref=refs[0],
            managed=managed,
            quantity=None,
            problem=ItemProblem.AMBIGUOUS,
            detail=f"SKU on {len(refs)} inventory items: {', '.join(refs)}",
        )
    level = first.get("inventoryLevel")
    if not isinstance(level, dict):
        return ChannelItem(
            sku=sku,
            ref=refs[0],
            managed=managed,
            quantity=None,
            problem=ItemProblem.NOT_STOCKED,
            detail="not stocked at the store's location",
        )
    return ChannelItem(
        sku=sku, ref=refs[0], managed=managed, quantity=_available(level)
    )


def _available(level: Json) -> int | None:
    for quantity in level.get("quantities") or []:
        if quantity.get("name") == "available" and isinstance(
            quantity.get("quantity"), int
        ):
            return int(quantity["quantity"])
    return None


def _sets_quantity(change: DesiredChange) -> bool:
    return change.quantity is not None and change.quantity != change.expected_quantity


def _applied(change: DesiredChange, after: int | None) -> ItemOutcome:
    return ItemOutcome(change.sku, Outcome.APPLIED, quantity_after=after)


def _refused(change: DesiredChange, code: Any, message: str) -> ItemOutcome:
    code_text = str(code) if code else None
    return ItemOutcome(change.sku, Outcome.REFUSED, code=code_text, message=message)


def _deferred(change: DesiredChange, error: Exception) -> ItemOutcome:
    return ItemOutcome(
        change.sku, Outcome.DEFERRED, code=type(error).__name__, message=str(error)
    )

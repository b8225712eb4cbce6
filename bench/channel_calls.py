"""How many API calls a full read and a 1,500-change write take per channel.

For a store of 10,000 SKUs of which 1,500 differ from the hub, each adapter
reads the whole store and writes the changes against its emulator, in
process. The calls made are counted from the emulator's request log and
compared with the least possible, as issue 3 defines it: the pages of the
read plus ``ceil(changes / 250)``. Target ratio <= 1.05. Figures are printed,
never asserted; each row says what its calls beyond that minimum are for.

Magento is measured four ways: MSI source items, MSI with ``channel.recheck``
(each batch re-read before writing, as Magento has no compare-and-set), legacy
stock items written through the asynchronous bulk endpoint (``channel.bulk:
true``, whose consumer the emulator runs at once), and legacy written with one
synchronous PUT per SKU (the default for legacy, which needs no queue
consumer). Legacy writes read their batch back (Magento answers 200 to saves
it did not store). An MSI read is two listings, source items and the product
search (source items carry no manage-stock flag), and the minimum counts the
pages of both.

Emulators and adapters share a ``FakeClock``: the Shopify cost bucket and any
pacing or bulk polling are real, but the waits are virtual, and their total
is printed instead of slept.

Run: ``python bench/channel_calls.py``
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

import httpx

from reconciler.channels.base import (
    ChannelAdapter,
    ChannelItem,
    DesiredChange,
    Outcome,
)
from reconciler.channels.magento import PAGE_SIZE as MAGENTO_PAGE
from reconciler.channels.magento import MagentoAdapter
from reconciler.channels.shopify import ShopifyAdapter
from reconciler.clock import FakeClock
from reconciler.config.model import MagentoChannel, ShopifyChannel
from reconciler.sandbox.base import EmulatorBase, ReceivedRequest, transport_for
from reconciler.sandbox.magento import MagentoEmulator
from reconciler.sandbox.shopify import ShopifyEmulator

SKUS = 10_000
CHANGES = 1_500
START = 5
ISSUE_BATCH = 250
"""The batch the issue's minimum counts with."""


@dataclass(frozen=True)
class Result:
    channel: str
    calls: int
    minimum: int
    applied: int
    waited: float
    extras: str
    notes: str


def main() -> None:
    print(f"{SKUS} SKUs, {CHANGES} changes; FakeClock: waits are virtual")
    print(f"minimum = read pages + ceil(changes / {ISSUE_BATCH})")
    results = (
        shopify(),
        magento_msi(),
        magento_msi_recheck(),
        magento_bulk(),
        magento_legacy(),
    )
    for result in results:
        ratio = result.calls / result.minimum
        print(
            f"{result.channel:22} calls={result.calls} minimum={result.minimum} "
            f"ratio={ratio:.3f} applied={result.applied} "
            f"virtual_wait={result.waited:.1f}s"
        )
        print(f"{'':22} extra: {result.extras or 'none'}")
        print(f"{'':22} {result.notes}")


# --- Shopify -------------------------------------------------------------------


def shopify() -> Result:
    clock = FakeClock()
    shop = ShopifyEmulator("bench-shopify", clock=clock)
    for number in range(SKUS):
        shop.add_variant(f"SKU-{number:05}", quantity=START)
    channel = ShopifyChannel(
        endpoint="sandbox://bench-shopify",
        api_version="2025-01",
        location="Main warehouse",
        token_env=None,
    )
    adapter = ShopifyAdapter(
        "bench-shopify",
        channel,
        _client(shop, channel.endpoint),
        token=None,
        clock=clock,
    )
    page = min(250, int((shop.maximum - 2) // 4))
    pages = math.ceil(SKUS / page)
    notes = f"read page {page}, write batch {adapter.max_batch}"
    return _run("shopify", adapter, shop, clock, pages, _shopify_kind, notes)


def _shopify_kind(request: ReceivedRequest, writing: bool) -> str:
    query = str((request.body or {}).get("query", ""))
    if "locations" in query:
        return "location lookup"
    if "inventorySetQuantities" in query:
        return "write"
    return "re-read" if writing else "page"


# --- Magento -------------------------------------------------------------------


def magento_legacy() -> Result:
    notes = "one synchronous PUT per SKU (needs no queue consumer)"
    return _magento("magento legacy", source=None, bulk=False, notes=notes)


def magento_bulk() -> Result:
    notes = (
        "channel.bulk: one async bulk PUT per batch + status polls; needs "
        "Magento's consumer (the emulator's runs at once)"
    )
    return _magento("magento legacy bulk", source=None, bulk=True, notes=notes)


def magento_msi() -> Result:
    notes = "one source-items POST per batch; no read-back (see adapter docstring)"
    return _magento("magento msi", source="default", bulk=False, notes=notes)


def magento_msi_recheck() -> Result:
    notes = "channel.recheck: each batch's source items and flags re-read first"
    return _magento(
        "magento msi recheck", source="default", bulk=False, notes=notes, recheck=True
    )


def _magento(
    name: str, *, source: str | None, bulk: bool, notes: str, recheck: bool = False
) -> Result:
    clock = FakeClock()
    shop = MagentoEmulator("bench-magento", clock=clock)
    for number in range(SKUS):
        shop.add_product(f"SKU-{number:05}", START)
    channel = MagentoChannel(
        endpoint="sandbox://bench-magento",
        store_code="all",
        source=source,
        token_env=None,
        bulk=bulk,
        recheck=recheck,
    )
    adapter = MagentoAdapter(
        "bench-magento",
        channel,
        _client(shop, channel.endpoint),
        token=None,
        clock=clock,
    )
    listings = 2 if source else 1  # MSI: source items and the product search
    pages = listings * math.ceil(SKUS / MAGENTO_PAGE)
    notes = f"read page {MAGENTO_PAGE}, write batch {adapter.max_batch}; {notes}"
    return _run(name, adapter, shop, clock, pages, _MagentoKinds(), notes)


class _MagentoKinds:
    """Names each Magento request.

    A SKU search during the write is a read-back when it asks only for SKUs
    already written, else a batch's re-read before its write.
    """

    def __init__(self) -> None:
        self._written: set[str] = set()

    def __call__(self, request: ReceivedRequest, writing: bool) -> str:
        if request.method in ("PUT", "POST"):
            self._written |= _written_skus(request)
            return "write"
        if "/bulk/" in request.path:
            return "bulk status poll"
        if not writing:
            return "page"
        searched = _searched_skus(request)
        read_back = bool(self._written) and searched <= self._written
        return "read-back" if read_back else "compare-and-set re-read"


def _searched_skus(request: ReceivedRequest) -> set[str]:
    """The SKUs a search filters on (its ``sku`` filter's value)."""
    query = dict(request.query)
    skus: set[str] = set()
    for name, field in request.query:
        if name.endswith("[field]") and field == "sku":
            value = query.get(name.removesuffix("[field]") + "[value]", "")
            skus |= set(value.split(","))
    return skus


def _written_skus(request: ReceivedRequest) -> set[str]:
    body = request.body
    if isinstance(body, list):
        return {str(entry["productSku"]) for entry in body}
    if isinstance(body, dict) and "sourceItems" in body:
        return {str(item["sku"]) for item in body["sourceItems"]}
    return {unquote(request.path.split("/products/", 1)[1].split("/", 1)[0])}


# --- measuring -----------------------------------------------------------------


def _run(
    name: str,
    adapter: ChannelAdapter,
    shop: EmulatorBase,
    clock: FakeClock,
    pages: int,
    kind_of: Callable[[ReceivedRequest, bool], str],
    notes: str,
) -> Result:
    snapshot = adapter.read()
    read_calls = len(shop.requests)
    changes = _changes(list(snapshot.items.values())[:CHANGES])
    outcomes = adapter.write(changes)
    adapter.close()

    kinds = Counter(
        kind_of(request, index >= read_calls)
        for index, request in enumerate(shop.requests)
    )
    batches = math.ceil(CHANGES / ISSUE_BATCH)
    if adapter.max_batch < ISSUE_BATCH:
        notes += f"; its batch {adapter.max_batch} is below {ISSUE_BATCH}"
    applied = sum(1 for o in outcomes if o.outcome is Outcome.APPLIED)
    return Result(
        name,
        len(shop.requests),
        pages + batches,
        applied,
        sum(clock.waits),
        _extras(kinds, pages, batches),
        notes,
    )


def _extras(kinds: Counter[str], pages: int, batches: int) -> str:
    """The calls beyond the minimum, by what they are for."""
    extra = Counter(kinds)
    extra["page"] -= pages
    extra["write"] -= batches
    parts = []
    for kind, count in sorted(extra.items(), key=lambda pair: -pair[1]):
        if count:
            label = (
                f"{kind}s against one per {ISSUE_BATCH}"
                if kind == "write"
                else f"{kind}s"
            )
            label = f"{kind}s beyond the {pages} pages" if kind == "page" else label
            parts.append(f"{count:+d} {label}")
    return ", ".join(parts)


def _changes(items: Sequence[ChannelItem]) -> list[DesiredChange]:
    return [
        DesiredChange(
            sku=item.sku,
            ref=item.ref,
            managed=True,
            quantity=START + 10,
            expected_managed=item.managed,
            expected_quantity=item.quantity,
        )
        for item in items
    ]


def _client(shop: EmulatorBase, endpoint: str) -> httpx.Client:
    return httpx.Client(transport=transport_for(shop), base_url=endpoint)


if __name__ == "__main__":
    main()

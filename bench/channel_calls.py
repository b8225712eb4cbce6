"""How many API calls a full read and a 1,500-change write take per channel.

For a store of 10,000 SKUs of which 1,500 differ from the hub, each adapter
reads the whole store and writes the changes against its emulator, in
process. The calls made are counted from the emulator's request log and
compared with the least possible: the pages of the read plus one call per
write batch. Target ratio <= 1.05. Figures are printed, never asserted.

Both emulators and adapters share a ``FakeClock``: the Shopify cost bucket
(1000 points, 50 per second) and any pacing are real, but the waits are
virtual, and their total is printed instead of slept.

Run: ``python bench/channel_calls.py``
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
from reconciler.sandbox.base import EmulatorBase, transport_for
from reconciler.sandbox.magento import MagentoEmulator
from reconciler.sandbox.shopify import ShopifyEmulator

SKUS = 10_000
CHANGES = 1_500
START = 5


@dataclass(frozen=True)
class Result:
    channel: str
    calls: int
    minimum: int
    applied: int
    waited: float


def main() -> None:
    print(f"{SKUS} SKUs, {CHANGES} changes; FakeClock: waits are virtual")
    for result in (shopify(), magento()):
        ratio = result.calls / result.minimum
        print(
            f"{result.channel:8} calls={result.calls} minimum={result.minimum} "
            f"ratio={ratio:.3f} applied={result.applied} "
            f"virtual_wait={result.waited:.1f}s"
        )


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
    minimum = math.ceil(SKUS / page) + math.ceil(CHANGES / adapter.max_batch)
    return _run("shopify", adapter, shop, clock, minimum)


def magento() -> Result:
    clock = FakeClock()
    shop = MagentoEmulator("bench-magento", clock=clock)
    for number in range(SKUS):
        shop.add_product(f"SKU-{number:05}", START)
    channel = MagentoChannel(
        endpoint="sandbox://bench-magento",
        store_code="all",
        source=None,
        token_env=None,
    )
    adapter = MagentoAdapter(
        "bench-magento",
        channel,
        _client(shop, channel.endpoint),
        token=None,
        clock=clock,
    )
    minimum = math.ceil(SKUS / MAGENTO_PAGE) + math.ceil(CHANGES / adapter.max_batch)
    return _run("magento", adapter, shop, clock, minimum)


def _run(
    name: str,
    adapter: ChannelAdapter,
    shop: EmulatorBase,
    clock: FakeClock,
    minimum: int,
) -> Result:
    snapshot = adapter.read()
    changes = _changes(list(snapshot.items.values())[:CHANGES])
    outcomes = adapter.write(changes)
    adapter.close()
    applied = sum(1 for o in outcomes if o.outcome is Outcome.APPLIED)
    return Result(name, len(shop.requests), minimum, applied, sum(clock.waits))


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

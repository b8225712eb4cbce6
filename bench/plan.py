"""Planning cost against a bare dict comparison of the same data.

100,000 SKUs over three stores (one master store, two the hub feeds), with
1 % of each store's items differing. Prints the planning time, the time of
comparing the same values as plain dicts in the same run, their ratio (the
target is at most 3), and the planner's peak memory. Each timing is the
best of ``RUNS`` rounds in which the works take turns. Prints; asserts nothing.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

from reconciler.channels.base import ChannelItem, ChannelSnapshot, match_key
from reconciler.config.model import (
    Direction,
    MagentoChannel,
    Mark,
    Mode,
    Repository,
    Setting,
    Settings,
    ShopifyChannel,
    StoreConfig,
    SyncOverride,
)
from reconciler.hub.records import HubRecord, SeenValue
from reconciler.plan.planner import make_plan
from reconciler.policy import Policy

SKUS = 100_000
RUNS = 7
DIFFERENT = 0.01
STORES = {
    "magento-eu": Direction.CHANNEL_TO_HUB,
    "shopify-us": Direction.HUB_TO_CHANNEL,
    "magento-uk": Direction.HUB_TO_CHANNEL,
}
AT = datetime(2026, 1, 1, tzinfo=UTC)
Values = dict[str, tuple[bool, int]]


def store_config(name: str, direction: Direction) -> StoreConfig:
    mark = Mark(f"stores/{name}.yaml", 1, 1)
    channel: ShopifyChannel | MagentoChannel
    if name.startswith("magento"):
        channel = MagentoChannel(f"sandbox://{name}", "all", None, None)
    else:
        channel = ShopifyChannel(f"sandbox://{name}", "2025-01", "Main", None)
    defaults = SyncOverride(
        direction=Setting(direction, mark),
        mode=Setting(Mode.AUTOMATIC, mark),
        interval=Setting(300, mark),
    )
    return StoreConfig(name, mark, channel, defaults)


def make_data(
    rng: random.Random,
) -> tuple[dict[str, HubRecord], dict[str, Values], Values]:
    """The hub, and each store's values with 1 % of them changed."""
    skus = [f"SKU-{n:06d}" for n in range(SKUS)]
    hub_values = {sku: (True, rng.randrange(0, 500)) for sku in skus}
    hub = {
        sku: HubRecord(sku, None, managed, quantity, AT, "import:bench.csv")
        for sku, (managed, quantity) in hub_values.items()
    }
    stores: dict[str, Values] = {}
    for name in STORES:
        values = dict(hub_values)
        for sku in rng.sample(skus, int(SKUS * DIFFERENT)):
            values[sku] = (True, values[sku][1] + rng.randrange(1, 9))
        stores[name] = values
    return hub, stores, hub_values


def snapshot_of(name: str, values: Values) -> ChannelSnapshot:
    casefold = name.startswith("magento")
    items = {
        match_key(sku, casefold=casefold): ChannelItem(sku, sku, managed, quantity)
        for sku, (managed, quantity) in values.items()
    }
    return ChannelSnapshot(name, items, casefold=casefold)


def seen_of(name: str, values: Values) -> dict[str, SeenValue]:
    return {sku: SeenValue(name, sku, m, q, AT) for sku, (m, q) in values.items()}


def bare_compare(hub: Values, stores: dict[str, Values]) -> int:
    """The floor: one plain dict comparison per store."""
    return sum(
        1
        for values in stores.values()
        for sku, wanted in hub.items()
        if values.get(sku) != wanted
    )


def object_compare(
    hub: dict[str, HubRecord], snapshots: dict[str, ChannelSnapshot]
) -> int:
    """The same comparison over the planner's own values (records, items)."""
    count = 0
    for snapshot in snapshots.values():
        items, casefold = snapshot.items, snapshot.casefold
        for sku, record in hub.items():
            item = items.get(sku.casefold() if casefold else sku)
            if item is None or item.quantity != record.quantity_available:
                count += 1
    return count


def best_of(runs: int, works: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The best wall time of each work; the works take turns, so that load
    from other processes falls on all of them alike."""
    timings: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(runs):
        for name, work in works.items():
            start = time.perf_counter()
            work()
            timings[name].append(time.perf_counter() - start)
    return {name: min(times) for name, times in timings.items()}


def main() -> None:
    hub, values, hub_values = make_data(random.Random(4))
    snapshots = {name: snapshot_of(name, v) for name, v in values.items()}
    seen = {name: seen_of(name, v) for name, v in values.items()}
    repository = Repository(
        root="bench",
        settings=Settings(),
        stores={name: store_config(name, d) for name, d in STORES.items()},
        vendors={},
        vendor_of={},
    )

    def plan() -> object:
        return make_plan(Policy(repository), hub, snapshots, seen, now=AT)

    best = best_of(
        RUNS,
        {
            "plan": plan,
            "bare": lambda: bare_compare(hub_values, values),
            "objects": lambda: object_compare(hub, snapshots),
        },
    )
    planning, bare, objects = best["plan"], best["bare"], best["objects"]
    tracemalloc.start()
    result = make_plan(Policy(repository), hub, snapshots, seen, now=AT)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    summary = result.summary()
    print(f"SKUs: {SKUS:,} x {len(STORES)} stores, {DIFFERENT:.0%} different")
    print(f"plan: {summary['pulls']:,} pulls, {summary['pushes']:,} pushes")
    print(f"planning time:        {planning * 1000:8.1f} ms (best of {RUNS})")
    print(f"bare dict comparison: {bare * 1000:8.1f} ms (best of {RUNS})")
    print("  (wall time; the three timed works take turns in each round)")
    print(f"ratio:                {planning / bare:8.2f} (target <= 3)")
    print(f"same loop over the records and items: {objects * 1000:.1f} ms, ratio")
    print(f"  of planning to it:  {planning / objects:8.2f}")
    print(f"planner peak memory:  {peak / 1e6:8.1f} MB")


if __name__ == "__main__":
    main()

"""Values the planner tests build by hand: repositories, hub records, snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from reconciler.channels.base import ChannelItem, ChannelSnapshot, ItemProblem
from reconciler.config.model import (
    Direction,
    Guard,
    MagentoChannel,
    Mark,
    Mode,
    NegativeStock,
    Product,
    Repository,
    Setting,
    Settings,
    ShopifyChannel,
    StoreConfig,
    SyncOverride,
    VendorConfig,
)
from reconciler.hub.records import HubRecord, SeenValue

DEFAULT_GUARD = Guard()
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def mark(path: str, line: int = 1) -> Mark:
    return Mark(path, line, 1)


def override(
    path: str,
    direction: Direction | None = None,
    mode: Mode | None = None,
    manage: bool | None = None,
) -> SyncOverride:
    return SyncOverride(
        direction=Setting(direction, mark(path)) if direction else None,
        mode=Setting(mode, mark(path)) if mode else None,
        manage_inventory=Setting(manage, mark(path)) if manage is not None else None,
    )


def store(
    name: str,
    direction: Direction,
    mode: Mode = Mode.AUTOMATIC,
    *,
    magento: bool = False,
    negative: NegativeStock = NegativeStock.PUSH_ZERO,
    guard: Guard = DEFAULT_GUARD,
) -> StoreConfig:
    path = f"stores/{name}.yaml"
    channel: ShopifyChannel | MagentoChannel
    if magento:
        channel = MagentoChannel(f"sandbox://{name}", "all", "default", None)
    else:
        channel = ShopifyChannel(f"sandbox://{name}", "2025-01", "Main", None)
    defaults = override(path, direction, mode)
    defaults = SyncOverride(
        direction=defaults.direction,
        mode=defaults.mode,
        interval=Setting(300, mark(path)),
    )
    return StoreConfig(
        name, mark(path), channel, defaults, guard=guard, negative_stock=negative
    )


def repository(
    *stores: StoreConfig, products: Mapping[str, Product] | None = None
) -> Repository:
    products = dict(products or {})
    vendors = {}
    if products:
        vendors["acme"] = VendorConfig(
            "acme", mark("vendors/acme.yaml"), products=products
        )
    return Repository(
        root="config",
        settings=Settings(),
        stores={s.name: s for s in stores},
        vendors=vendors,
        vendor_of=dict.fromkeys(products, "acme"),
    )


def product(
    sku: str,
    stores: Mapping[str, SyncOverride] | None = None,
    *,
    direction: Direction | None = None,
    mode: Mode | None = None,
    manage: bool | None = None,
) -> Product:
    path = "vendors/acme.yaml"
    own = override(path, direction, mode, manage)
    return Product(sku, mark(path), own, dict(stores or {}))


def hub(*records: tuple[str, bool, int]) -> dict[str, HubRecord]:
    return {
        sku: HubRecord(sku, None, managed, quantity, AT, "import:test.csv")
        for sku, managed, quantity in records
    }


def item(
    sku: str,
    managed: bool = True,
    quantity: int | None = 0,
    problem: ItemProblem | None = None,
    detail: str | None = None,
) -> ChannelItem:
    return ChannelItem(sku, f"ref-{sku}", managed, quantity, None, problem, detail)


def snapshot(name: str, *items: ChannelItem, casefold: bool = False) -> ChannelSnapshot:
    keyed = {(i.sku.casefold() if casefold else i.sku): i for i in items}
    return ChannelSnapshot(name, keyed, casefold=casefold)


def seen(name: str, *values: tuple[str, bool, int | None]) -> dict[str, SeenValue]:
    return {sku: SeenValue(name, sku, m, q, AT) for sku, m, q in values}

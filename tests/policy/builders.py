"""Config repositories built directly from the model, for policy tests.

Every setting gets a distinct, predictable mark (file and line), so a test can
assert the whole ``Decided`` value, provenance included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from reconciler.config.model import (
    Direction,
    MagentoChannel,
    Mark,
    Mode,
    Product,
    Repository,
    Setting,
    Settings,
    ShopifyChannel,
    StoreConfig,
    SyncOverride,
    VendorConfig,
)

COLUMN = 5
UNSET = SyncOverride()

T = TypeVar("T")


def at(path: str, line: int) -> Mark:
    return Mark(path, line, COLUMN)


def override(
    path: str,
    line: int,
    *,
    direction: Direction | None = None,
    mode: Mode | None = None,
    interval: int | None = None,
    manage_inventory: bool | None = None,
) -> SyncOverride:
    """A level's settings, written one per line from ``line`` on, in this order."""
    return SyncOverride(
        direction=_setting(direction, path, line),
        mode=_setting(mode, path, line + 1),
        interval=_setting(interval, path, line + 2),
        manage_inventory=_setting(manage_inventory, path, line + 3),
    )


def _setting(value: T | None, path: str, line: int) -> Setting[T] | None:
    return None if value is None else Setting(value, at(path, line))


def store(
    name: str,
    direction: Direction | None = Direction.HUB_TO_CHANNEL,
    *,
    magento: bool = False,
    mode: Mode | None = Mode.AUTOMATIC,
    interval: int | None = 300,
    manage_inventory: bool | None = None,
) -> StoreConfig:
    """A store file ``stores/NAME.yaml`` whose settings start at line 10."""
    path = f"stores/{name}.yaml"
    channel: ShopifyChannel | MagentoChannel
    if magento:
        channel = MagentoChannel(f"sandbox://{name}", "all", "default", None)
    else:
        channel = ShopifyChannel(f"sandbox://{name}", "2025-01", "Main", None)
    defaults = override(
        path,
        10,
        direction=direction,
        mode=mode,
        interval=interval,
        manage_inventory=manage_inventory,
    )
    return StoreConfig(name, at(path, 1), channel, defaults)


def vendor(
    name: str,
    sync: SyncOverride = UNSET,
    stores: Mapping[str, SyncOverride] | None = None,
    products: Sequence[Product] = (),
) -> VendorConfig:
    path = f"vendors/{name}.yaml"
    listed = {product.sku: product for product in products}
    return VendorConfig(name, at(path, 1), None, sync, stores or {}, listed)


def product(
    sku: str,
    line: int,
    sync: SyncOverride = UNSET,
    stores: Mapping[str, SyncOverride] | None = None,
) -> Product:
    return Product(sku, at("vendors/any.yaml", line), sync, stores or {})


def repository(
    stores: Sequence[StoreConfig], vendors: Sequence[VendorConfig] = ()
) -> Repository:
    vendor_of = {sku: v.name for v in vendors for sku in v.products}
    return Repository(
        root="config",
        settings=Settings(),
        stores={s.name: s for s in stores},
        vendors={v.name: v for v in vendors},
        vendor_of=vendor_of,
    )

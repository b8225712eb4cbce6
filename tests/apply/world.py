"""A small world for passes and apply tests: a config repository on disk, two Magento
emulators behind the in-process transport, and a real SQLite state file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from reconciler.channels.base import ChannelAdapter
from reconciler.channels.magento import MagentoAdapter
from reconciler.channels.shopify import ShopifyAdapter
from reconciler.clock import FakeClock
from reconciler.config.model import MagentoChannel, StoreConfig
from reconciler.hub import open_state
from reconciler.hub.records import HubRecord
from reconciler.runner import PassOptions, PassResult, Progress, run_pass
from reconciler.sandbox.base import transport_for
from reconciler.sandbox.magento import MagentoEmulator
from reconciler.sandbox.shopify import ShopifyEmulator

AT = datetime(2026, 1, 2, tzinfo=UTC)

STORE_FILE = """\
store: {name}
channel:
  type: magento
  endpoint: sandbox://{name}
  store_code: all
inventory:
  direction: {direction}
  mode: automatic
  interval: 5m
guard:
  max_zeroed: 5%
  max_changed: 50%
"""


SHOPIFY_STORE_FILE = """\
store: {name}
channel:
  type: shopify
  endpoint: sandbox://{name}
  api_version: "2025-01"
  location: Main warehouse
inventory:
  direction: {direction}
  mode: automatic
  interval: 5m
"""


@dataclass
class World:
    root: Path
    state_url: str
    emulators: dict[str, Any] = field(default_factory=dict)
    clock: FakeClock = field(default_factory=FakeClock)

    def adapter(self, config: StoreConfig) -> ChannelAdapter:
        client = httpx.Client(
            base_url=f"http://{config.name}.sandbox.invalid",
            transport=transport_for(self.emulators[config.name]),
        )
        if isinstance(config.channel, MagentoChannel):
            return MagentoAdapter(
                config.name, config.channel, client, token=None, clock=self.clock
            )
        return ShopifyAdapter(
            config.name, config.channel, client, token=None, clock=self.clock
        )

    def add_shopify(self, name: str, direction: str) -> ShopifyEmulator:
        path = self.root / "config" / "stores" / f"{name}.yaml"
        path.write_text(SHOPIFY_STORE_FILE.format(name=name, direction=direction))
        shop = ShopifyEmulator(name, clock=self.clock)
        self.emulators[name] = shop
        return shop

    def add_products(
        self, store: str, prefix: str, count: int, quantity: int
    ) -> list[str]:
        """``count`` SKUs ``PREFIX-00``... with one quantity on a Magento store."""
        skus = [f"{prefix}-{n:02d}" for n in range(count)]
        for sku in skus:
            self.emulators[store].add_product(sku, quantity)
        return skus

    def run(self, progress: Progress | None = None, **options: object) -> PassResult:
        return run_pass(
            self.root / "config",
            PassOptions(state_url=self.state_url, **options),  # type: ignore[arg-type]
            adapter_factory=self.adapter,
            progress=progress,
        )

    def hub(self) -> dict[str, tuple[bool, int]]:
        with open_state(self.state_url) as state:
            return {
                sku: (r.manage_inventory, r.quantity_available)
                for sku, r in state.hub_records().items()
            }

    def stock(self, store: str) -> dict[str, float]:
        stock: dict[str, float] = self.emulators[store].stock()
        return stock

    def writes(self, store: str) -> list[tuple[str, str]]:
        return [
            (r.method, r.path)
            for r in self.emulators[store].requests
            if r.method not in ("GET", "HEAD")
        ]


def write_store(root: Path, name: str, direction: str) -> None:
    path = root / "config" / "stores" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STORE_FILE.format(name=name, direction=direction))


def seed_hub(state_url: str, records: dict[str, tuple[bool, int]]) -> None:
    with open_state(state_url) as state:
        state.put_hub_records(
            [
                HubRecord(sku, None, managed, quantity, AT, "import:seed.csv")
                for sku, (managed, quantity) in records.items()
            ]
        )


def make_world(tmp_path: Path) -> World:
    """magento-eu is master (channel_to_hub), magento-uk takes the hub's values."""
    (tmp_path / "config" / "vendors").mkdir(parents=True)
    write_store(tmp_path, "magento-eu", "channel_to_hub")
    write_store(tmp_path, "magento-uk", "hub_to_channel")
    world = World(tmp_path, f"sqlite:///{tmp_path / '.reconciler' / 'state.db'}")
    eu = MagentoEmulator("magento-eu", clock=world.clock)
    uk = MagentoEmulator("magento-uk", clock=world.clock)
    world.emulators = {"magento-eu": eu, "magento-uk": uk}
    return world


def zeroing_master(world: World) -> None:
    """magento-eu (master) reports 12 of its 20 SKUs at 0; the hub has 5 of
    each, and magento-uk holds the hub's values but for one drifted SKU."""
    eu, uk = world.emulators["magento-eu"], world.emulators["magento-uk"]
    skus = [f"S-{n:02d}" for n in range(20)]
    for number, sku in enumerate(skus):
        eu.add_product(sku, 0 if number < 12 else 5)
        uk.add_product(sku, 3 if sku == "S-19" else 5)
    seed_hub(world.state_url, dict.fromkeys(skus, (True, 5)))


def run_summary(world: World, run_id: int | None) -> dict[str, Any]:
    """The summary a run recorded."""
    assert run_id is not None
    with open_state(world.state_url) as state:
        run = state.run(run_id)
    assert run is not None
    return dict(run.summary)

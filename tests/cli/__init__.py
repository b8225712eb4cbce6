"""A config repository with two sandbox stores, for commands run through click.

magento-eu (Magento catalog export) is master of its stock by default;
shopify-us (Shopify product export) takes the hub's values. The vendor
``tees`` turns the hub into the master of its SKUs on magento-eu too, and
makes TEE-M a manual-mode item, so one import batch exercises a push to
both stores, a manual item and a SKU whose master is a store (MUG-1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import cast

from reconciler.hub import open_state
from reconciler.hub.records import HubRecord, JournalEntry, RunRecord
from reconciler.sandbox.base import EmulatorBase
from reconciler.sandbox.magento import MagentoEmulator
from reconciler.sandbox.registry import open_emulator
from reconciler.sandbox.shopify import ShopifyEmulator

MAGENTO_HEADER = "sku,product_type,qty,is_in_stock,manage_stock,use_config_manage_stock"
SHOPIFY_HEADER = (
    "Handle,Title,Option1 Name,Option1 Value,Variant SKU,"
    "Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy"
)
STOCK = {"TEE-S": (10, 1), "TEE-M": (10, 1), "MUG-1": (5, 5)}
"""SKU -> (quantity on magento-eu, quantity on shopify-us)."""

MAGENTO_STORE = """\
store: magento-eu
channel:
  type: magento
  endpoint: sandbox://magento-eu
  seed: magento-eu.csv
  store_code: all
inventory:
  direction: channel_to_hub
  mode: automatic
  interval: 5m
guard:
  max_zeroed: {max_zeroed}
  max_changed: {max_changed}
"""

SHOPIFY_STORE = """\
store: shopify-us
channel:
  type: shopify
  endpoint: sandbox://shopify-us
  seed: shopify-us.csv
  api_version: "2025-01"
  location: Main warehouse
inventory:
  direction: hub_to_channel
  mode: automatic
  interval: 5m
guard:
  max_zeroed: {max_zeroed}
  max_changed: {max_changed}
"""

TEES_VENDOR = """\
vendor: tees
inventory_feed:
  sync:
    stores:
      magento-eu: {direction: hub_to_channel}
products:
  "TEE-M":
    mode: manual
"""


@dataclass(frozen=True)
class Repo:
    """A config repository and the state folder beside it."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def state_dir(self) -> Path:
        return self.root / ".reconciler"

    @property
    def state_url(self) -> str:
        return f"sqlite:///{self.state_dir / 'state.db'}"

    def args(self) -> list[str]:
        """The ``--config`` and ``--state`` options naming this repository."""
        return ["--config", str(self.config), "--state", self.state_url]

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def magento(self) -> MagentoEmulator:
        """magento-eu as the last command left it on disk (or as seeded)."""
        return cast(MagentoEmulator, self._emulator("magento", "magento-eu"))

    def shopify(self) -> ShopifyEmulator:
        """shopify-us as the last command left it on disk (or as seeded)."""
        return cast(ShopifyEmulator, self._emulator("shopify", "shopify-us"))

    def _emulator(self, kind: str, store: str) -> EmulatorBase:
        directory = self.state_dir / "sandbox" / store
        return open_emulator(kind, store, directory, self.config / f"{store}.csv")

    def fingerprint(self) -> dict[str, str]:
        """A digest of every file under the state folder, to see that nothing
        was written (the database, the journal and the sandboxes alike)."""
        if not self.state_dir.exists():
            return {}
        return {
            str(path.relative_to(self.state_dir)): hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
            for path in sorted(self.state_dir.rglob("*"))
            if path.is_file()
        }

    def hub(self) -> dict[str, HubRecord]:
        with open_state(self.state_url) as state:
            return state.hub_records()

    def put_hub(self, records: list[HubRecord]) -> None:
        """Write hub records directly, for a state no import would accept
        (a vendor without a vendor file, for one)."""
        with open_state(self.state_url) as state:
            state.put_hub_records(records)

    def runs(self) -> list[RunRecord]:
        with open_state(self.state_url) as state:
            return state.runs()

    def journal(self, run_id: int) -> list[JournalEntry]:
        with open_state(self.state_url) as state:
            return state.journal_of(run_id)


def make_repo(
    root: Path,
    stock: dict[str, tuple[int, int]] | None = None,
    *,
    max_zeroed: str = "5%",
    max_changed: str = "50%",
    vendor: bool = True,
) -> Repo:
    """Two sandbox stores seeded with ``stock`` (default ``STOCK``)."""
    repo = Repo(root)
    items = STOCK if stock is None else stock
    guard = {"max_zeroed": max_zeroed, "max_changed": max_changed}
    repo.write("config/stores/magento-eu.yaml", MAGENTO_STORE.format(**guard))
    repo.write("config/stores/shopify-us.yaml", SHOPIFY_STORE.format(**guard))
    repo.write("config/magento-eu.csv", magento_export(items))
    repo.write("config/shopify-us.csv", shopify_export(items))
    (repo.config / "vendors").mkdir(exist_ok=True)
    if vendor:
        repo.write("config/vendors/tees.yaml", TEES_VENDOR)
    return repo


def magento_export(stock: dict[str, tuple[int, int]]) -> str:
    rows = [f"{sku},simple,{eu},1,1,0" for sku, (eu, _) in stock.items()]
    return "\n".join([MAGENTO_HEADER, *rows]) + "\n"


def shopify_export(stock: dict[str, tuple[int, int]]) -> str:
    rows = [
        f"{sku.lower()},{sku},Title,Default Title,{sku},shopify,{us},deny"
        for sku, (_, us) in stock.items()
    ]
    return "\n".join([SHOPIFY_HEADER, *rows]) + "\n"


def undated(record: HubRecord, at: datetime) -> HubRecord:
    """``record`` with its change time replaced, to compare whole records."""
    return replace(record, changed_at=at)

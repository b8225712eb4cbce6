"""A world for the crash test: real ``reconcile`` processes on embedded sandboxes.

Two stores take the hub's values (a Magento store at its MSI source and a
Shopify shop), both ``sandbox://`` stores seeded from export CSVs written
here, with a real SQLite state file. ``kill_after_writes`` starts a pass as
a subprocess and SIGKILLs it once the sandboxes have persisted a chosen
number of channel writes. Each persisted write replaces the store's state
file: the watcher sees the replacement, freezes the pass (SIGSTOP) and counts
the batches written from the files' content, so a busy machine that delays
the watcher makes it late by at most the write in flight, never by a miscount.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.hub import open_state
from reconciler.hub.records import JournalEntry
from reconciler.plan.model import MANAGE_INVENTORY, QUANTITY_AVAILABLE
from reconciler.sandbox.magento import MagentoEmulator
from reconciler.sandbox.registry import open_emulator, save
from reconciler.sandbox.shopify import ShopifyEmulator
from tests.apply.world import seed_hub

BATCH = 250
POLL_SECONDS = 0.002
PASS_TIMEOUT = 60.0

MAGENTO_STORE = """\
store: {name}
channel:
  type: magento
  endpoint: sandbox://{name}
  seed: {name}.csv
  store_code: all
  source: default
inventory:
  direction: hub_to_channel
  mode: automatic
  interval: 5m
guard:
  max_zeroed: 100%
  max_changed: 100%
"""

SHOPIFY_STORE = """\
store: {name}
channel:
  type: shopify
  endpoint: sandbox://{name}
  seed: {name}.csv
  api_version: "2025-01"
  location: Main warehouse
inventory:
  direction: hub_to_channel
  mode: automatic
  interval: 5m
guard:
  max_zeroed: 100%
  max_changed: 100%
"""

MAGENTO_HEADER = "sku,product_type,qty,is_in_stock,manage_stock,use_config_manage_stock"
SHOPIFY_HEADER = (
    "Handle,Title,Variant SKU,Variant Inventory Tracker,"
    "Variant Inventory Qty,Variant Inventory Policy"
)

StateKey = tuple[int, int, int]
"""A state file's inode, modification time and size: changes on each save."""


@dataclass(frozen=True, slots=True)
class ChannelValue:
    """One item as its channel holds it (read back from the saved sandbox)."""

    managed: bool
    quantity: int | None


@dataclass(frozen=True, slots=True)
class Kill:
    """Where one killed pass stopped."""

    writes_seen: int
    return_code: int | None
    stderr: str

    @property
    def killed(self) -> bool:
        return self.return_code == -signal.SIGKILL


@dataclass(frozen=True, slots=True)
class Finished:
    """A pass that ran to its end."""

    return_code: int
    stdout: str
    stderr: str


@dataclass
class CrashWorld:
    """Stores ``name -> (kind, SKUs)`` under ``root``, fed by one hub."""

    root: Path
    stores: dict[str, tuple[str, list[str]]]

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def state_url(self) -> str:
        return f"sqlite:///{self.root / '.reconciler' / 'state.db'}"

    def sandbox_dir(self, store: str) -> Path:
        return self.root / ".reconciler" / "sandbox" / store

    @property
    def full_write(self) -> int:
        """Persisted channel writes of a pass that changes every SKU."""
        return sum(math.ceil(len(skus) / BATCH) for _, skus in self.stores.values())

    # --- the hub ---------------------------------------------------------

    def hub_skus(self) -> list[str]:
        return sorted({sku for _, skus in self.stores.values() for sku in skus})

    def desired(self, round_number: int) -> dict[str, int]:
        """The hub's quantities of a round: every SKU differs from any earlier."""
        return {
            sku: 20 * round_number + 10 + position % 7
            for position, sku in enumerate(self.hub_skus())
        }

    def set_hub(self, round_number: int) -> dict[str, int]:
        wanted = self.desired(round_number)
        seed_hub(self.state_url, {sku: (True, q) for sku, q in wanted.items()})
        return wanted

    def last_run(self) -> int | None:
        with open_state(self.state_url) as state:
            runs = state.runs(limit=1)
        return runs[0].id if runs else None

    def journal(self, run_id: int) -> list[JournalEntry]:
        with open_state(self.state_url) as state:
            return state.journal_of(run_id)

    # --- the channels ----------------------------------------------------

    def channel(self, store: str) -> dict[str, ChannelValue]:
        """The store's items as its sandbox saved them on disk."""
        kind, _ = self.stores[store]
        directory = self.sandbox_dir(store)
        if kind == "magento":
            magento = MagentoEmulator.load(store, directory)
            return {
                item.sku: ChannelValue(magento.managed(item), int(item.qty))
                for item in magento.items.values()
            }
        shop = ShopifyEmulator.load(store, directory)
        return {
            variant.sku: ChannelValue(
                variant.tracked, variant.levels.get(shop.default_location)
            )
            for variant in shop.variants.values()
        }

    def unconverged(self, wanted: dict[str, int]) -> dict[str, int]:
        """Per store, how many of its SKUs do not hold the hub's value yet."""
        return {
            store: sum(
                1
                for sku, value in self.channel(store).items()
                if value != ChannelValue(True, wanted[sku])
            )
            for store in self.stores
        }

    def unjournaled(self, wanted: dict[str, int], entries: list[JournalEntry]) -> int:
        """Items a channel holds at the hub's value without an applied entry."""
        journaled = {
            (entry.store, entry.sku)
            for entry in entries
            if entry.target == "channel" and entry.outcome == "applied"
        }
        return sum(
            1
            for store in self.stores
            for sku, value in self.channel(store).items()
            if value == ChannelValue(True, wanted[sku])
            and (store, sku) not in journaled
        )

    def unbacked_entries(self, entries: list[JournalEntry]) -> list[JournalEntry]:
        """Entries marked applied to a channel whose value the channel lacks."""
        channels = {store: self.channel(store) for store in self.stores}
        return [
            entry
            for entry in entries
            if entry.target == "channel"
            and entry.outcome == "applied"
            and _held(channels[entry.store].get(entry.sku), entry) != entry.after
        ]

    def state_keys(self) -> dict[str, StateKey]:
        keys = {}
        for store, (kind, _) in self.stores.items():
            path = self.sandbox_dir(store) / f"{kind}.json"
            stat = path.stat()
            keys[store] = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        return keys

    # --- passes ----------------------------------------------------------

    def command(self, *options: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "reconciler",
            "--config",
            str(self.config),
            "--state",
            self.state_url,
            *options,
        ]

    def run(self, *options: str) -> Finished:
        done = subprocess.run(
            self.command(*options),
            capture_output=True,
            text=True,
            timeout=PASS_TIMEOUT,
            check=False,
        )
        return Finished(done.returncode, done.stdout, done.stderr)

    def dry_run_in_process(self) -> Finished:
        """``reconcile --dry-run --detailed-exitcode`` in this process."""
        options = ["--config", str(self.config), "--state", self.state_url]
        options += ["--dry-run", "--detailed-exitcode"]
        result = CliRunner().invoke(main, options)
        return Finished(result.exit_code, result.stdout, result.stderr)

    def kill_after_writes(
        self, wanted: dict[str, int], writes: int, delay: float
    ) -> Kill:
        """Start ``reconcile --yes``; SIGKILL it ``delay`` seconds after the
        sandboxes have persisted ``writes`` batches of ``wanted`` values, or
        sooner, as soon as the next batch is persisted: a delayed kill lands
        inside the next batch, never after the pass has written everything."""
        log = self.root / "killed.log"
        with log.open("w") as stderr:
            process = subprocess.Popen(
                self.command("--yes"), stdout=subprocess.DEVNULL, stderr=stderr
            )
            seen = self._freeze_after_writes(process, wanted, writes)
            if delay:
                _resume(process)
                self._wait_for_next_write(process, delay)
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            code = process.wait(PASS_TIMEOUT)
        return Kill(seen, code, log.read_text())

    def batches_written(self, wanted: dict[str, int]) -> int:
        """Channel writes so far: each store's items at the hub's value, by batch."""
        return sum(
            math.ceil((len(self.stores[store][1]) - left) / BATCH)
            for store, left in self.unconverged(wanted).items()
        )

    def _freeze_after_writes(
        self, process: subprocess.Popen[bytes], wanted: dict[str, int], writes: int
    ) -> int:
        """Watch the state files; on each replacement stop the pass and count.

        Returns the writes counted, with the pass left stopped, once there
        are ``writes`` of them (or the pass ended, or the deadline passed).
        """
        last = self.state_keys()
        deadline = time.monotonic() + PASS_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            now = self.state_keys()
            if now == last:
                continue
            process.send_signal(signal.SIGSTOP)
            seen = self.batches_written(wanted)
            if seen >= writes:
                return seen
            _resume(process)
            last = now
        return self.batches_written(wanted)

    def _wait_for_next_write(
        self, process: subprocess.Popen[bytes], seconds: float
    ) -> None:
        """Up to ``seconds``, stopping the pass at once if a state file changes."""
        last = self.state_keys()
        deadline = time.monotonic() + seconds
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            if self.state_keys() != last:
                process.send_signal(signal.SIGSTOP)
                return


def _resume(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)


def _held(value: ChannelValue | None, entry: JournalEntry) -> str | None:
    """The channel's value of the entry's field, written as the journal does."""
    if value is None:
        return None
    if entry.field == MANAGE_INVENTORY:
        return "true" if value.managed else "false"
    if entry.field == QUANTITY_AVAILABLE and value.quantity is not None:
        return str(value.quantity)
    return None


def make_crash_world(root: Path, magento_skus: int, shopify_skus: int) -> CrashWorld:
    """The config repository, seed CSVs and saved sandboxes; an empty hub.

    The sandboxes are saved before the first pass so that every state file
    replacement the kill points count is a channel write.
    """
    world = CrashWorld(
        root,
        {
            "magento-eu": ("magento", [f"MG-{n:05}" for n in range(magento_skus)]),
            "shopify-us": ("shopify", [f"SH-{n:05}" for n in range(shopify_skus)]),
        },
    )
    (world.config / "vendors").mkdir(parents=True)
    (world.config / "stores").mkdir()
    for store, (kind, skus) in world.stores.items():
        template = MAGENTO_STORE if kind == "magento" else SHOPIFY_STORE
        (world.config / "stores" / f"{store}.yaml").write_text(
            template.format(name=store)
        )
        seed = world.config / f"{store}.csv"
        seed.write_text(_seed_csv(kind, skus))
        directory = world.sandbox_dir(store)
        save(open_emulator(kind, store, directory, seed), directory)
    return world


def _seed_csv(kind: str, skus: list[str]) -> str:
    """An export whose quantities differ from every round's hub values."""
    if kind == "magento":
        rows = [f"{sku},simple,{n % 5},1,1,0" for n, sku in enumerate(skus)]
        return "\n".join([MAGENTO_HEADER, *rows]) + "\n"
    rows = [
        f"item-{n},Item {n},{sku},shopify,{n % 5},deny" for n, sku in enumerate(skus)
    ]
    return "\n".join([SHOPIFY_HEADER, *rows]) + "\n"

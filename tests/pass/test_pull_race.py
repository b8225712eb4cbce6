"""Two passes over one master store: the later commit compares the hub.

A daemon passes each store on its own, and a fed store's pass also reads
and pulls from its master store: the master's own pass (or another fed
store's) may commit the same SKUs between that read and its commit. The
later commit must neither journal the same pull twice nor put an older
master value back in the hub and push it on: that would oversell.

Here the fed store's pass is held after its reads until the master store's
pass has run to its end; then it goes on with what it read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence

from reconciler.apply.executor import HUB_ALREADY, HUB_MOVED
from reconciler.channels.base import (
    ChannelAdapter,
    ChannelSnapshot,
    DesiredChange,
    ItemOutcome,
    Outcome,
    PageSeen,
)
from reconciler.config.model import StoreConfig
from reconciler.daemon.passes import outcome_of
from reconciler.hub import open_state
from reconciler.hub.records import RunKind
from reconciler.runner import EXIT_OK, PassOptions, PassResult, run_pass
from tests.apply.world import World, run_summary, seed_hub


class AfterReads:
    """Runs ``between`` once, when the pass has read every one of ``stores``."""

    def __init__(self, stores: Collection[str], between: Callable[[], None]) -> None:
        self.waiting = set(stores)
        self.between = between
        self.lock = threading.Lock()

    def read(self, store: str) -> None:
        with self.lock:
            self.waiting.discard(store)
            if self.waiting:
                return
            self.waiting = {"(done)"}
            self.between()


class HeldAdapter:
    """A store's adapter whose reads report to ``AfterReads``."""

    def __init__(self, inner: ChannelAdapter, after: AfterReads) -> None:
        self.inner = inner
        self.after = after
        self.store = inner.store

    @property
    def max_batch(self) -> int:
        return self.inner.max_batch

    def read(
        self, skus: Collection[str] | None = None, on_page: PageSeen | None = None
    ) -> ChannelSnapshot:
        snapshot = self.inner.read(skus, on_page)
        self.after.read(self.store)
        return snapshot

    def write(self, changes: Sequence[DesiredChange]) -> list[ItemOutcome]:
        return self.inner.write(changes)

    def close(self) -> None:
        self.inner.close()


def daemon_pass(world: World, store: str) -> PassResult:
    """One store's pass as the daemon runs it (no pass lock taken)."""
    options = PassOptions(world.state_url, stores=(store,), kind=RunKind.DAEMON)
    return run_pass(world.root / "config", options, adapter_factory=world.adapter)


def fed_store_pass_held(world: World, between: Callable[[], None]) -> PassResult:
    """magento-uk's daemon pass, whose reads (its own and its master's) are
    done before ``between`` runs, and whose plan and apply come after it."""
    after = AfterReads(world.emulators, between)

    def adapter(config: StoreConfig) -> ChannelAdapter:
        return HeldAdapter(world.adapter(config), after)

    options = PassOptions(world.state_url, stores=("magento-uk",), kind=RunKind.DAEMON)
    return run_pass(world.root / "config", options, adapter_factory=adapter)


def hub_entries(world: World, run_id: int | None) -> list[tuple[str, str, str]]:
    assert run_id is not None
    with open_state(world.state_url) as state:
        return [
            (e.sku, str(e.before), str(e.after))
            for e in state.journal_of(run_id)
            if e.target == "hub"
        ]


def stock(world: World) -> None:
    eu, uk = world.emulators["magento-eu"], world.emulators["magento-uk"]
    eu.add_product("A-1", 9)
    uk.add_product("A-1", 1)
    seed_hub(world.state_url, {"A-1": (True, 5)})


def test_the_same_pull_by_two_passes_is_journaled_once(world: World) -> None:
    stock(world)
    inner: list[PassResult] = []

    outer = fed_store_pass_held(
        world, lambda: inner.append(daemon_pass(world, "magento-eu"))
    )

    (first,) = inner
    pull = next(r for r in outer.results if r.change.store == "magento-eu")
    assert (first.exit_code, outer.exit_code) == (EXIT_OK, EXIT_OK)
    assert hub_entries(world, first.run_id) == [("A-1", "5", "9")]
    assert hub_entries(world, outer.run_id) == []
    assert (pull.outcome, pull.message) == (Outcome.APPLIED, HUB_ALREADY)
    assert (
        run_summary(world, outer.run_id)["pulls_applied"],
        run_summary(world, outer.run_id)["pulls_already"],
    ) == (0, 1)
    assert outcome_of(outer, "magento-uk", 0).changes == {"already": 1, "applied": 1}
    assert world.hub() == {"A-1": (True, 9)}
    assert world.stock("magento-uk") == {"A-1": 9.0}


def test_an_older_master_value_is_neither_put_back_nor_pushed(world: World) -> None:
    """The fed store's pass read 9 on the master; a sale made it 8, and the
    master's own pass took 8 to the hub. 9 must not come back."""
    stock(world)
    eu = world.emulators["magento-eu"]
    inner: list[PassResult] = []

    def sale_then_pass() -> None:
        eu.set_quantity("A-1", 8)
        inner.append(daemon_pass(world, "magento-eu"))

    outer = fed_store_pass_held(world, sale_then_pass)

    (first,) = inner
    stale = sorted(
        (r.change.store, r.change.target.value, r.message)
        for r in outer.results
        if r.outcome is Outcome.STALE
    )
    assert first.exit_code == EXIT_OK
    assert hub_entries(world, first.run_id) == [("A-1", "5", "8")]
    assert stale == [
        ("magento-eu", "hub", HUB_MOVED),
        ("magento-uk", "channel", HUB_MOVED),
    ]
    assert hub_entries(world, outer.run_id) == []
    assert world.hub() == {"A-1": (True, 8)}
    assert world.stock("magento-uk") == {"A-1": 1.0}
    assert world.writes("magento-uk") == []
    assert outer.exit_code == EXIT_OK

    assert daemon_pass(world, "magento-uk").exit_code == EXIT_OK
    assert world.stock("magento-uk") == {"A-1": 8.0}

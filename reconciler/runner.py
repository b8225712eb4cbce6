"""One reconcile pass: load -> read -> plan -> guard -> apply -> journal -> result.

The pass is level-triggered: it re-reads the hub and every selected store,
so whatever a crash or a failed item left behind is planned again. A dry run
reads and plans but writes nothing anywhere: no channel, no hub, no journal,
no run record, and no state database is created when there is none yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from reconciler.apply.executor import (
    ApplyResult,
    ChangeResult,
    Journal,
    ShouldStop,
    StoreFailure,
    apply_plan,
    outcome_counts,
    utc_now,
)
from reconciler.channels.base import ChannelAdapter, ChannelSnapshot
from reconciler.channels.factory import open_adapter
from reconciler.clock import Clock
from reconciler.config.model import StoreConfig
from reconciler.errors import ChannelError, SelectionError
from reconciler.hub import open_state
from reconciler.hub.records import (
    HubRecord,
    RunKind,
    RunStatus,
    SeenValue,
    StateStore,
)
from reconciler.plan.guard import guard_plan
from reconciler.plan.model import Plan
from reconciler.plan.planner import Selection, make_plan
from reconciler.policy import Policy, load_policy

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PENDING = 2
MAX_READS_AT_ONCE = 4
DEFAULT_STATE_URL = "sqlite:///.reconciler/state.db"

log = logging.getLogger(__name__)


class Progress(Protocol):
    """Where a pass reports its reads and writes per store (a terminal line)."""

    def read_started(self, store: str) -> None: ...

    def write_batch(self, store: str, done: int, total: int) -> None: ...

    def store_done(self, store: str) -> None: ...


Confirm = Callable[[Plan], bool]
"""Asked after planning, before anything is written; False applies nothing."""

AdapterFactory = Callable[[StoreConfig], ChannelAdapter]
"""Opens a store's adapter; by default the channel factory's ``open_adapter``."""


@dataclass(frozen=True, slots=True)
class PassOptions:
    """What one pass is asked to do (the command line's options)."""

    state_url: str | None = None
    stores: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    include_manual: bool = False
    dry_run: bool = False
    detailed_exitcode: bool = False
    allow_mass_change: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    kind: RunKind = RunKind.PASS
    hub_overlay: Mapping[str, HubRecord] | None = None
    """Hub records to plan with in place of the stored ones (an import's dry
    run plans its pushes from the records it would write)."""
    full_read: bool = False
    """Read every SKU even when ``skus`` narrows the plan, so the guard weighs
    the plan against the whole store (an import's push)."""


@dataclass(frozen=True, slots=True)
class PassResult:
    """The plan of a pass and, unless it was a dry run, what became of it."""

    plan: Plan
    results: tuple[ChangeResult, ...] = ()
    failures: tuple[StoreFailure, ...] = ()
    run_id: int | None = None
    dry_run: bool = False
    applied: bool = False
    exit_code: int = EXIT_OK
    left: int = 0
    """Planned changes a stop left unwritten for the next pass."""
    unknown_skus: tuple[str, ...] = ()
    """SKUs asked for (``--sku``) that neither the hub nor any store read has."""

    @property
    def failed_items(self) -> tuple[ChangeResult, ...]:
        return tuple(result for result in self.results if result.failed)


@dataclass
class _Read:
    """The truth of one pass, as read before planning."""

    hub: dict[str, HubRecord]
    snapshots: dict[str, ChannelSnapshot] = field(default_factory=dict)
    seen: dict[str, dict[str, SeenValue]] = field(default_factory=dict)
    failures: list[StoreFailure] = field(default_factory=list)


def run_pass(
    config_dir: str | Path,
    options: PassOptions,
    *,
    clock: Clock | None = None,
    progress: Progress | None = None,
    confirm: Confirm | None = None,
    adapter_factory: AdapterFactory | None = None,
    should_stop: ShouldStop | None = None,
) -> PassResult:
    """Run one pass; raises ``ConfigInvalid`` or ``StateError`` (``StopRun``)
    before anything is written when the config or state store is unusable.

    ``should_stop`` is asked between apply batches: once it says yes the
    batch in flight finishes, the rest waits for the next pass, and the run
    is recorded as ``stopped``."""
    root = Path(config_dir)
    policy = load_policy(root)
    configs = _selected_stores(policy, options)
    state_url = options.state_url or policy.repository.settings.state_url
    state = _open_state(state_url, dry_run=options.dry_run)
    adapters: dict[str, ChannelAdapter] = {}
    try:
        factory = adapter_factory or _channel_factory(root, state_url, options, clock)
        failures = _open_adapters(adapters, configs, factory)
        read = _read_all(state, adapters, options, progress)
        read.failures[:0] = failures
        plan = _plan(policy, read, options)
        result = _finish(
            plan, read, state, adapters, options, confirm, progress, should_stop
        )
        return replace(result, unknown_skus=_unknown_skus(read, options))
    finally:
        for adapter in adapters.values():
            adapter.close()
        if state is not None:
            state.close()


def _selected_stores(policy: Policy, options: PassOptions) -> list[StoreConfig]:
    """The named stores, or every store that is not suspended; a name the
    config does not have (in ``--store`` or ``--allow-mass-change``) is a
    ``SelectionError``."""
    stores = policy.repository.stores
    _refuse_unknown(stores, options.stores, "")
    _refuse_unknown(stores, options.allow_mass_change, "--allow-mass-change: ")
    if options.stores:
        return [stores[name] for name in dict.fromkeys(options.stores)]
    return [config for config in stores.values() if not config.suspended]


def _refuse_unknown(
    stores: Mapping[str, StoreConfig], names: Sequence[str], prefix: str
) -> None:
    unknown = [repr(name) for name in dict.fromkeys(names) if name not in stores]
    if unknown:
        noun = "stores" if len(unknown) > 1 else "store"
        known = ", ".join(sorted(stores)) or "none"
        listed = ", ".join(unknown)
        raise SelectionError(f"{prefix}unknown {noun} {listed} (known: {known})")


def _unknown_skus(read: _Read, options: PassOptions) -> tuple[str, ...]:
    """The requested SKUs found nowhere (a typo, most likely); unknown only
    when every selected store was read."""
    if read.failures:
        return ()
    return tuple(
        sku
        for sku in dict.fromkeys(options.skus)
        if sku not in read.hub
        and all(snapshot.get(sku) is None for snapshot in read.snapshots.values())
    )


def state_dir_of(state_url: str) -> Path:
    """The ``.reconciler/`` folder: beside an SQLite state file, else here."""
    prefix = "sqlite:///"
    if state_url.startswith(prefix) and state_url != prefix + ":memory:":
        return Path(state_url.removeprefix(prefix)).parent
    return Path(".reconciler")


def _open_state(url: str, *, dry_run: bool) -> StateStore | None:
    """The state store; a dry run opens it read-only, creating and migrating
    nothing (an absent or empty database reads as empty)."""
    return open_state(url, migrate=not dry_run)


def _channel_factory(
    root: Path, state_url: str, options: PassOptions, clock: Clock | None
) -> AdapterFactory:
    state_dir = state_dir_of(state_url)

    def factory(config: StoreConfig) -> ChannelAdapter:
        return open_adapter(
            config, config_root=root, state_dir=state_dir, env=options.env, clock=clock
        )

    return factory


def _open_adapters(
    adapters: dict[str, ChannelAdapter],
    configs: Sequence[StoreConfig],
    factory: AdapterFactory,
) -> list[StoreFailure]:
    """Fill ``adapters``; a store whose channel cannot be opened is a failure."""
    failures = []
    for config in configs:
        try:
            adapters[config.name] = factory(config)
        except ChannelError as error:
            log.error("event=pass.open store=%s error=%s", config.name, error)
            failures.append(StoreFailure(config.name, "read", str(error)))
    return failures


def _read_all(
    state: StateStore | None,
    adapters: Mapping[str, ChannelAdapter],
    options: PassOptions,
    progress: Progress | None,
) -> _Read:
    """The hub, the last seen values, and every store's stock, concurrently."""
    skus = None if options.full_read else (list(options.skus) or None)
    read = _Read(hub=state.hub_records(skus) if state is not None else {})
    if options.hub_overlay:
        read.hub.update(options.hub_overlay)

    def one(name: str) -> ChannelSnapshot | StoreFailure:
        if progress is not None:
            progress.read_started(name)
        try:
            snapshot = adapters[name].read(skus)
        except ChannelError as error:
            log.error("event=pass.read store=%s outcome=failed error=%s", name, error)
            return StoreFailure(name, "read", str(error))
        log.info("event=pass.read store=%s sku_count=%d", name, len(snapshot.items))
        if progress is not None:
            progress.store_done(name)
        return snapshot

    with ThreadPoolExecutor(MAX_READS_AT_ONCE, "read") as pool:
        outcomes = dict(zip(adapters, pool.map(one, adapters), strict=True))
    for name, outcome in outcomes.items():
        if isinstance(outcome, StoreFailure):
            read.failures.append(outcome)
        else:
            read.snapshots[name] = outcome
            read.seen[name] = state.last_seen(name) if state is not None else {}
    return read


def _plan(policy: Policy, read: _Read, options: PassOptions) -> Plan:
    selection = Selection(
        skus=frozenset(options.skus) or None, include_manual=options.include_manual
    )
    plan = make_plan(policy, read.hub, read.snapshots, read.seen, selection=selection)
    return guard_plan(plan, policy.repository.stores, set(options.allow_mass_change))


def _finish(
    plan: Plan,
    read: _Read,
    state: StateStore | None,
    adapters: Mapping[str, ChannelAdapter],
    options: PassOptions,
    confirm: Confirm | None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> PassResult:
    """Stop at the plan for a dry run or a refused confirmation; else apply."""
    failures = tuple(read.failures)
    if options.dry_run or state is None:
        code = _exit_code(plan, failures, (), options, applied=False)
        return PassResult(plan, (), failures, None, True, False, code)
    if plan.has_changes and confirm is not None and not confirm(plan):
        return PassResult(plan, (), failures, None, False, False, EXIT_ERROR)

    run_id = state.start_run(options.kind, sorted(adapters))
    record_read(state, read)
    journal = Journal(state, run_id)
    applied = apply_plan(
        plan, read.hub, adapters, journal, progress=progress, should_stop=should_stop
    )
    return _close_run(state, run_id, plan, failures, applied, options)


def record_read(state: StateStore, read: _Read) -> None:
    """Store the values read this pass where they differ from the last seen."""
    at = utc_now()
    changed = [
        SeenValue(name, item.sku, item.managed, item.quantity, at)
        for name, snapshot in read.snapshots.items()
        for item in snapshot.items.values()
        if _differs(read.seen[name].get(item.sku), item.managed, item.quantity)
    ]
    if changed:
        state.record_seen(changed)


def _differs(seen: SeenValue | None, managed: bool, quantity: int | None) -> bool:
    return seen is None or seen.managed != managed or seen.quantity != quantity


def _close_run(
    state: StateStore,
    run_id: int,
    plan: Plan,
    failures: tuple[StoreFailure, ...],
    applied: ApplyResult,
    options: PassOptions,
) -> PassResult:
    failures += applied.failures
    code = _exit_code(plan, failures, applied.results, options, applied=True)
    status = RunStatus.SUCCEEDED if code == EXIT_OK else RunStatus.FAILED
    if applied.stopped and code == EXIT_OK:
        status = RunStatus.STOPPED
    state.finish_run(run_id, status, _run_summary(plan, failures, applied))
    log.info("event=pass.finish run=%d status=%s", run_id, status.value)
    return PassResult(
        plan, applied.results, failures, run_id, False, True, code, len(applied.left)
    )


def _run_summary(
    plan: Plan, failures: tuple[StoreFailure, ...], applied: ApplyResult
) -> dict[str, int]:
    """The run's counts: planned and what became of it, kept apart per target
    (``pulls_planned`` next to ``pulls_applied``), so that a run whose guard
    stopped its pushes shows them as not attempted, not as pushed."""
    summary = {
        name: count
        for name, count in plan.summary().items()
        if name not in ("pulls", "pushes")
    }
    summary.update(outcome_counts(plan, applied.results))
    summary["failed_items"] = sum(1 for r in applied.results if r.failed)
    summary["failed_stores"] = len({f.store for f in failures})
    if applied.stopped:
        summary["left_for_next_pass"] = len(applied.left)
    return summary


def _exit_code(
    plan: Plan,
    failures: Collection[StoreFailure],
    results: Collection[ChangeResult],
    options: PassOptions,
    *,
    applied: bool,
) -> int:
    """1 on any failure or tripped guard; 2 for pending changes on request."""
    guard_blocked = any(s.guard is not None and s.guard.blocks for s in plan.stores)
    if failures or guard_blocked or any(r.failed for r in results):
        return EXIT_ERROR
    if not applied and options.detailed_exitcode and plan.has_changes:
        return EXIT_PENDING
    return EXIT_OK

"""One reconcile pass: load -> read -> plan -> guard -> apply -> journal -> result.

The pass is level-triggered: it re-reads the hub and every selected store,
so whatever a crash or a failed item left behind is planned again. A dry run
reads and plans but writes nothing anywhere: no channel, no hub, no journal,
no run record, and no state database is created when there is none yet.

A pass that names its stores (``--store``, the daemon's one-store passes)
also reads the master stores (``channel_to_hub`` for any SKU) that feed them,
unless suspended: their pulls are planned and applied as usual, and nothing
is pushed to them. A SKU whose master store was still not read (suspended,
or its read failed) is pushed nowhere; the plan skips it as
``master_not_read`` with the reason.

``--sku`` values are resolved against the hub before reading: surrounding
whitespace is dropped, and a value the hub does not hold exactly takes the
hub's spelling of the one SKU it matches case-insensitively (always, whatever
the stores' matching: the hub is where an operator's SKU is looked up). A
value matching two hub SKUs that way is a ``SelectionError`` naming both; a
value matching none stays as given.
"""

from __future__ import annotations

import functools
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
from reconciler.channels.base import ChannelAdapter, ChannelSnapshot, Outcome
from reconciler.channels.factory import open_adapter
from reconciler.clock import Clock
from reconciler.config.model import Direction, Product, StoreConfig
from reconciler.errors import ChannelConfigError, ChannelError, SelectionError
from reconciler.hub import open_state
from reconciler.hub.leases import (
    PassLeases,
    busy_message,
    manual_holder,
    take_pass_leases,
)
from reconciler.hub.records import (
    HubRecord,
    RunKind,
    RunStatus,
    SeenValue,
    StateStore,
)
from reconciler.plan.guard import guard_plan, log_verdicts
from reconciler.plan.model import (
    Change,
    Held,
    Plan,
    Side,
    SkipReason,
    StorePlan,
)
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

    def read_page(self, store: str, records_so_far: int) -> None: ...

    def read_done(self, store: str, items: int) -> None: ...

    def read_failed(self, store: str) -> None: ...

    def write_batch(self, store: str, done: int, total: int, applied: int) -> None: ...

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
    after_run: int | None = None
    """The import run whose push this pass is, kept in the run's summary as
    ``after_import_run`` so that history links the two."""
    due_skus: tuple[str, ...] | None = None
    """The daemon's narrowing to the SKUs due on their own interval (a
    product's or vendor's ``interval`` shorter than the store's); unlike
    ``skus`` it selects no manual item. ``None``: every SKU."""

    @property
    def narrowed_to(self) -> tuple[str, ...]:
        """The SKUs the pass reads and plans, named or due; empty: all."""
        return self.skus or self.due_skus or ()


@dataclass(frozen=True, slots=True)
class SuspendedStore:
    """A store whose file says ``suspended: true``, and where that file is."""

    name: str
    file: str
    """The store's file, relative to the config root."""
    named: bool = False
    """Whether ``--store`` named it, so that the pass ran it anyway."""


@dataclass(frozen=True, slots=True)
class NotSynced:
    """A named SKU a selected store leaves alone, and the line that says so."""

    sku: str
    store: str
    source: str


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
    suspended: tuple[SuspendedStore, ...] = ()
    """Suspended stores: left out of the pass, or run because ``--store`` named
    them; the reports list the first kind, the command line warns of the other."""
    not_synced: tuple[NotSynced, ...] = ()
    """Each SKU named with ``--sku`` that a selected store does not sync
    (direction ``none``), so that naming it there is not silently nothing."""

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
    feeding = _feeding_masters(policy, configs)
    state_url = options.state_url or policy.repository.settings.state_url
    state = _open_state(state_url, dry_run=options.dry_run)
    adapters: dict[str, ChannelAdapter] = {}
    leases = PassLeases(manual_holder())
    try:
        leases = _take_leases(state, configs, options)
        configs = [config for config in configs if config.name not in leases.busy]
        options = _resolve_skus(state, options)
        factory = adapter_factory or _channel_factory(root, state_url, options, clock)
        failures = _open_adapters(adapters, [*configs, *feeding], factory)
        files = {name: c.mark.path for name, c in policy.repository.stores.items()}
        read = _read_all(state, adapters, options, progress, files)
        read.failures[:0] = [*_busy_failures(leases), *failures]
        plan = _pulls_only(_plan(policy, read, options), feeding)
        result = _finish(
            plan, read, state, adapters, options, confirm, progress, should_stop
        )
        return replace(
            result,
            unknown_skus=_unknown_skus(read, options),
            suspended=_suspended(policy, options),
            not_synced=_not_synced(policy, read, configs, options),
        )
    finally:
        leases.release()
        for adapter in adapters.values():
            adapter.close()
        if state is not None:
            state.close()


def _take_leases(
    state: StateStore | None, configs: Sequence[StoreConfig], options: PassOptions
) -> PassLeases:
    """An applying pass run by hand takes its stores from a running daemon
    (``reconciler/hub/leases.py``); dry runs and daemon passes take nothing."""
    if options.dry_run or options.kind is RunKind.DAEMON:
        return PassLeases(manual_holder())
    names = [config.name for config in configs]
    return take_pass_leases(state, names, manual_holder())


def _busy_failures(leases: PassLeases) -> list[StoreFailure]:
    return [
        StoreFailure(store, "lease", busy_message(store, holder))
        for store, holder in leases.busy.items()
    ]


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


def _suspended(policy: Policy, options: PassOptions) -> tuple[SuspendedStore, ...]:
    """The suspended stores a full pass left out, or those ``--store`` named
    (a pass naming its stores leaves the others out for that reason alone)."""
    named = set(options.stores)
    return tuple(
        SuspendedStore(name, _where_suspended(config), named=bool(named))
        for name, config in sorted(policy.repository.stores.items())
        if config.suspended and (not named or name in named)
    )


def _where_suspended(config: StoreConfig) -> str:
    mark = config.suspended_mark
    return f"{mark.path}:{mark.line}" if mark is not None else config.mark.path


def _feeding_masters(
    policy: Policy, selected: Sequence[StoreConfig]
) -> list[StoreConfig]:
    """The master stores, not selected and not suspended, of a pass that names
    its stores: read so that the SKUs they are master of reach the hub (and
    the selected stores) in this pass, and are not pushed from stale values.

    A store counts as a master when any level of the config (a store's
    default, a vendor's or a product's override) makes it ``channel_to_hub``;
    one too many is only one more read.
    """
    names = {config.name for config in selected}
    stores = policy.repository.stores
    if len(names) == len(stores):
        return []
    masters = _master_stores(policy)
    return [
        config
        for name, config in stores.items()
        if name in masters and name not in names and not config.suspended
    ]


def _master_stores(policy: Policy) -> set[str]:
    """Every store some SKU's policy makes ``channel_to_hub``: a vendor's (no
    vendor included) shared result, and the products that set a direction."""
    repository = policy.repository
    masters: set[str] = set()
    for vendor in (None, *repository.vendors):
        masters |= policy.vendor_masters(vendor)
    for listing in repository.vendors.values():
        for sku, product in listing.products.items():
            if _sets_direction(product):
                masters |= _product_masters(policy, sku)
    return masters


def _sets_direction(product: Product) -> bool:
    overrides = (product.override, *product.stores.values())
    return any(override.direction is not None for override in overrides)


def _product_masters(policy: Policy, sku: str) -> set[str]:
    return {
        store
        for store in policy.repository.stores
        if policy.for_sku(store, sku).direction.value is Direction.CHANNEL_TO_HUB
    }


def _pulls_only(plan: Plan, feeding: Sequence[StoreConfig]) -> Plan:
    """The plan with nothing pushed to the stores read only as masters."""
    if not feeding:
        return plan
    names = {config.name for config in feeding}
    stores = tuple(
        replace(store, pushes=(), held=_hub_side(store))
        if store.store in names
        else store
        for store in plan.stores
    )
    return replace(plan, stores=stores)


def _hub_side(store: StorePlan) -> tuple[Held, ...]:
    return tuple(held for held in store.held if held.target is Side.HUB)


def _resolve_skus(state: StateStore | None, options: PassOptions) -> PassOptions:
    """``options`` with each ``--sku`` in the hub's spelling (see the module
    docstring); the hub is read whole only when a value is not found as is."""
    if not options.skus:
        return options
    stripped = [sku.strip() for sku in options.skus]
    known = set(options.hub_overlay or {})
    if state is not None:
        known |= set(state.hub_records(stripped))
    if all(sku in known for sku in stripped):
        return replace(options, skus=tuple(stripped))

    if state is not None:
        known |= set(state.hub_records())
    folded: dict[str, list[str]] = {}
    for sku in sorted(known):
        folded.setdefault(sku.casefold(), []).append(sku)
    resolved = tuple(
        _hub_spelling(given, sku, known, folded)
        for given, sku in zip(options.skus, stripped, strict=True)
    )
    return replace(options, skus=resolved)


def _hub_spelling(
    given: str, sku: str, known: set[str], folded: Mapping[str, list[str]]
) -> str:
    if sku in known:
        return sku
    matches = folded.get(sku.casefold(), [])
    if len(matches) > 1:
        listed = " and ".join(repr(match) for match in matches)
        raise SelectionError(
            f"--sku {given!r} matches {listed} in the hub; give the SKU as the "
            f"hub spells it"
        )
    if matches:
        log.info("event=pass.sku given=%r hub=%s", given, matches[0])
        return matches[0]
    return given


def _refuse_unknown(
    stores: Mapping[str, StoreConfig], names: Sequence[str], prefix: str
) -> None:
    unknown = [repr(name) for name in dict.fromkeys(names) if name not in stores]
    if unknown:
        noun = "stores" if len(unknown) > 1 else "store"
        known = ", ".join(sorted(stores)) or "none"
        listed = ", ".join(unknown)
        raise SelectionError(f"{prefix}unknown {noun} {listed} (known: {known})")


def _not_synced(
    policy: Policy,
    read: _Read,
    configs: Sequence[StoreConfig],
    options: PassOptions,
) -> tuple[NotSynced, ...]:
    """The named SKUs each selected store does not sync, as their hub record's
    vendor resolves them."""
    found = []
    for sku in dict.fromkeys(options.skus):
        record = read.hub.get(sku)
        vendor = record.vendor if record is not None else None
        for config in configs:
            direction = policy.for_sku(config.name, sku, vendor).direction
            if direction.value is Direction.NONE:
                found.append(NotSynced(sku, config.name, direction.source))
    return tuple(found)


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
    files: Mapping[str, str] | None = None,
) -> _Read:
    """The hub, the last seen values, and every store's stock, concurrently."""
    skus = None if options.full_read else (list(options.narrowed_to) or None)
    read = _Read(hub=state.hub_records(skus) if state is not None else {})
    if options.hub_overlay:
        read.hub.update(options.hub_overlay)

    def one(name: str) -> ChannelSnapshot | StoreFailure:
        on_page = None
        if progress is not None:
            progress.read_started(name)
            on_page = functools.partial(progress.read_page, name)
        try:
            snapshot = adapters[name].read(skus, on_page)
        except ChannelError as error:
            log.error("event=pass.read store=%s outcome=failed error=%s", name, error)
            if progress is not None:
                progress.read_failed(name)
            message = str(error)
            if isinstance(error, ChannelConfigError) and files and name in files:
                message = f"{files[name]}: {message}"  # a setting of that file
            return StoreFailure(name, "read", message)
        log.info("event=pass.read store=%s sku_count=%d", name, len(snapshot.items))
        if progress is not None:
            progress.read_done(name, len(snapshot.items))
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
    """The guarded plan. When a master store's guard stops its pulls, the
    plan is made again with that store marked, so that nothing is pushed
    from the hub values it would have changed (``master_guarded``)."""
    selection = Selection(
        skus=frozenset(options.narrowed_to) or None,
        include_manual=options.include_manual,
        named=not options.due_skus,
    )
    unread = _why_unread(policy, read)
    configs = policy.repository.stores
    allow = set(options.allow_mass_change)

    plan = make_plan(
        policy, read.hub, read.snapshots, read.seen, selection=selection, unread=unread
    )
    plan = guard_plan(plan, configs, allow)
    guarded = {
        store.store: store.guard.message or ""
        for store in plan.stores
        if store.pulls and store.guard is not None and store.guard.blocks
    }
    if not guarded:
        log_verdicts(plan)
        return plan

    replanned = make_plan(
        policy,
        read.hub,
        read.snapshots,
        read.seen,
        selection=selection,
        unread=unread,
        guarded=guarded,
    )
    replanned = guard_plan(replanned, configs, allow)
    log_verdicts(replanned)
    return replanned


def _why_unread(policy: Policy, read: _Read) -> dict[str, str]:
    """Why each configured store was not read in this pass."""
    failed = {failure.store for failure in read.failures}
    reasons = {}
    for name, config in policy.repository.stores.items():
        if name in read.snapshots:
            continue
        if name in failed:
            reasons[name] = "read failed"
        elif config.suspended:
            reasons[name] = "suspended"
        else:
            reasons[name] = "not selected"
    return reasons


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
    if _applicable(plan) and confirm is not None and not confirm(plan):
        return PassResult(plan, (), failures, None, False, False, EXIT_ERROR)
    if options.due_skus and not plan.has_changes and not failures:
        # The daemon's pass of a few SKUs due on a short interval, with
        # nothing to do: its values are recorded, but no run, so that such
        # passes every few seconds neither flood history nor hide the last
        # whole pass's outcome from status.
        record_read(state, read, _blocked(plan), _unresolved(plan, read))
        return PassResult(plan, (), failures, None, False, True, EXIT_OK)

    run_id = state.start_run(options.kind, sorted(adapters))
    record_read(state, read, _blocked(plan), _unresolved(plan, read))
    journal = Journal(state, run_id)
    applied = apply_plan(
        plan, read.hub, adapters, journal, progress=progress, should_stop=should_stop
    )
    return _close_run(state, run_id, plan, failures, applied, options)


def record_read(
    state: StateStore,
    read: _Read,
    blocked: Collection[str] = (),
    unresolved: Collection[tuple[str, str]] = (),
) -> None:
    """Store the values read this pass where they differ from the last seen.

    Left as they were: a ``blocked`` store's (its guard stopped it: what it
    showed is in doubt), and each ``unresolved`` (store, SKU key) the plan
    changes, holds or skips. A change is recorded by apply once written; a
    held or skipped difference keeps the value of the last sync, so that the
    next pass still calls it drift (or a change) as this one did.
    """
    at = utc_now()
    changed = [
        SeenValue(name, item.sku, item.managed, item.quantity, at)
        for name, snapshot in read.snapshots.items()
        if name not in blocked
        for key, item in snapshot.items.items()
        if (name, key) not in unresolved
        and _differs(read.seen[name].get(item.sku), item.managed, item.quantity)
    ]
    if changed:
        state.record_seen(changed)


def _unresolved(plan: Plan, read: _Read) -> set[tuple[str, str]]:
    """(store, snapshot key) of every item the plan changes, holds or skips."""
    pairs: set[tuple[str, str]] = set()
    for store in plan.stores:
        snapshot = read.snapshots.get(store.store)
        if snapshot is None:
            continue
        skus = [change.sku for change in (*store.pulls, *store.pushes)]
        skus += [held.sku for held in store.held]
        skus += [skipped.sku for skipped in store.skipped]
        pairs.update((store.store, snapshot.key(sku)) for sku in skus)
    return pairs


def _applicable(plan: Plan) -> bool:
    """Whether a change of the plan would be applied: one of a store whose
    guard does not block it (nothing to confirm otherwise)."""
    blocked = _blocked(plan)
    return any(s.has_changes for s in plan.stores if s.store not in blocked)


def _blocked(plan: Plan) -> set[str]:
    return {s.store for s in plan.stores if s.guard is not None and s.guard.blocks}


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
    summary = _run_summary(plan, failures, applied)
    if options.after_run is not None:
        summary["after_import_run"] = options.after_run
    if options.due_skus:
        summary["narrowed_to_skus"] = len(options.due_skus)
    state.finish_run(run_id, status, summary)
    log.info("event=pass.finish run=%d status=%s", run_id, status.value)
    return PassResult(
        plan, applied.results, failures, run_id, False, True, code, len(applied.left)
    )


def _run_summary(
    plan: Plan, failures: tuple[StoreFailure, ...], applied: ApplyResult
) -> dict[str, object]:
    """The run's counts: planned and what became of it, kept apart per target
    (``pulls_planned`` next to ``pulls_applied``), so that a run whose guard
    stopped its pushes shows them as not attempted, not as pushed."""
    summary: dict[str, object] = {
        name: count
        for name, count in plan.summary().items()
        if name not in ("pulls", "pushes", "stores")
    }
    summary["stores"] = store_outcomes(plan, failures, applied.results)
    summary.update(outcome_counts(plan, applied.results))
    summary["failed_items"] = sum(1 for r in applied.results if r.failed)
    summary["failed_stores"] = len({f.store for f in failures})
    if applied.stopped:
        summary["left_for_next_pass"] = len(applied.left)
    return summary


def store_outcomes(
    plan: Plan, failures: Sequence[StoreFailure], results: Sequence[ChangeResult]
) -> dict[str, dict[str, object]]:
    """Each store's end of a run, for ``status`` and ``history``: ``outcome``
    ``ok``, ``failed`` (read or write), ``guard`` (its guard stopped it) or
    ``skipped`` (another holder syncs it); ``error`` the reason; ``unresolved``
    the planned changes it left (not applied, whatever the cause); and, when
    there are any, ``waiting``: SKUs that differ on the store but wait on
    their master store (not read, or stopped by its guard), with ``waiting_on``
    saying why."""
    applied = {_change_key(r.change) for r in results if r.outcome is Outcome.APPLIED}
    stores: dict[str, dict[str, object]] = {}
    for planned in plan.stores:
        entry: dict[str, object] = {
            "outcome": "ok",
            "error": None,
            "unresolved": sum(
                1
                for change in planned.pulls + planned.pushes
                if _change_key(change) not in applied
            ),
        }
        stores[planned.store] = entry | _waiting(planned)
    errors: dict[str, list[str]] = {}
    for failure in failures:
        entry = stores.setdefault(failure.store, {"unresolved": 0})
        entry["outcome"] = _FAILURE_OUTCOMES.get(failure.stage, "failed")
        errors.setdefault(failure.store, []).append(_failure_text(failure))
    for store, texts in errors.items():
        stores[store]["error"] = "; ".join(texts)
    return dict(sorted(stores.items()))


_FAILURE_OUTCOMES = {"guard": "guard", "lease": "skipped"}

_WAITING = (SkipReason.MASTER_GUARDED, SkipReason.MASTER_NOT_READ)
"""Skips that say the store is behind until its master store can be read."""


def _waiting(store: StorePlan) -> dict[str, object]:
    """The store's SKUs behind because of their master store, if any."""
    waiting = [skip for skip in store.skipped if skip.reason in _WAITING]
    if not waiting:
        return {}
    reasons = sorted({skip.detail or skip.reason.value for skip in waiting})
    return {"waiting": len(waiting), "waiting_on": reasons}


def _failure_text(failure: StoreFailure) -> str:
    """A guard's or a lease's message says it all; a read or write is named."""
    if failure.stage in _FAILURE_OUTCOMES:
        return failure.message
    return f"{failure.stage}: {failure.message}"


def _change_key(change: Change) -> tuple[str, str, str]:
    return (change.store, change.sku, change.target.value)


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

"""Apply a guarded plan: hub pulls first, then channel pushes, every change journaled.

Order and crash safety: pulls go to the hub in one transaction with their
seen values and journal entries, each compared with the hub record the pass
read: a SKU another pass already pulled to the same value is not journaled
again, and one whose hub record moved to another value is left (``stale``),
its pushes too, since the value they carry may be older than the hub's.
Pushes go store by store (a bounded number
of stores at a time), in the adapter's largest batches; each batch is
journaled *after* the adapter returns, never before, so the journal never
holds a change marked applied that the channel does not have. A crash
between a write and its journal entry loses only the entry; the next pass
re-reads the channel and finds nothing left to do for that item.

Stopping: ``should_stop`` is asked before every push batch. Once it says
yes, the batch in flight finishes and is journaled, no further batch starts
(nor a stale retry), and the changes left unwritten are returned as ``left``
for the next pass to plan again; nothing of them is journaled.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from reconciler.channels.base import (
    ChannelAdapter,
    ChannelItem,
    ItemOutcome,
    Outcome,
)
from reconciler.errors import ChannelError
from reconciler.hub.records import (
    HubRecord,
    JournalEntry,
    PullCommit,
    SeenValue,
    StateStore,
)
from reconciler.plan.model import Change, Plan, StorePlan
from reconciler.plan.planner import replan_change

MAX_STORES_AT_ONCE = 4
FAILED_OUTCOMES = frozenset({Outcome.REFUSED, Outcome.DEFERRED, Outcome.FAILED})

HUB_MOVED = (
    "the hub changed since this pass read it (another pass or an import); "
    "nothing written, the next pass plans it again"
)
HUB_ALREADY = "the hub already held this value (another pass took it from the store)"

log = logging.getLogger(__name__)

Now = Callable[[], datetime]

ShouldStop = Callable[[], bool]
"""Asked between batches; True leaves the remaining batches for the next pass."""


class BatchProgress(Protocol):
    """Told after each written batch of a store (items done of the total), and
    when the store's writes are over."""

    def write_batch(self, store: str, done: int, total: int, applied: int) -> None:
        """``done`` of ``total`` sent so far, ``applied`` of them applied."""
        ...

    def store_done(self, store: str) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What became of one planned change, with the channel's own words.

    ``change`` is the change as written and journaled. After a stale
    compare-and-set it is the re-plan made from the re-read item, and
    ``planned`` keeps the change as first planned, so a report can say that
    the channel moved between read and write.
    """

    change: Change
    outcome: Outcome
    code: str | None = None
    message: str | None = None
    planned: Change | None = None

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES

    @property
    def replanned(self) -> bool:
        return self.planned is not None


@dataclass(frozen=True, slots=True)
class StoreFailure:
    """A store that could not be read, written or was stopped by its guard."""

    store: str
    stage: str  # "read", "write" or "guard"
    message: str


@dataclass(frozen=True, slots=True)
class ApplyResult:
    results: tuple[ChangeResult, ...]
    failures: tuple[StoreFailure, ...]
    left: tuple[Change, ...] = ()

    @property
    def stopped(self) -> bool:
        """A stop left planned changes unwritten."""
        return bool(self.left)


@dataclass(frozen=True, slots=True)
class Journal:
    """Where one run's changes are recorded."""

    state: StateStore
    run_id: int
    now: Now = utc_now

    def entries(self, results: Sequence[ChangeResult]) -> list[JournalEntry]:
        at = self.now()
        return [
            JournalEntry(
                run_id=self.run_id,
                store=result.change.store,
                sku=result.change.sku,
                target=result.change.target.value,
                field=field.field,
                before=_text(field.before),
                after=_text(field.after),
                outcome=result.outcome.value,
                message=result.message,
                at=at,
            )
            for result in results
            for field in result.change.fields
        ]


def apply_plan(
    plan: Plan,
    hub: Mapping[str, HubRecord],
    adapters: Mapping[str, ChannelAdapter],
    journal: Journal,
    *,
    progress: BatchProgress | None = None,
    should_stop: ShouldStop | None = None,
) -> ApplyResult:
    """Pulls, then pushes, of every store its guard lets through."""
    results = apply_pulls(plan, hub, journal)
    moved = {r.change.sku for r in results if r.outcome is Outcome.STALE}
    failures: list[StoreFailure] = []
    runnable: list[tuple[StorePlan, ChannelAdapter]] = []
    for store in plan.stores:
        if store.guard is not None and store.guard.blocks:
            failures.append(
                StoreFailure(store.store, "guard", store.guard.message or "")
            )
            continue
        store, unsent = _without_moved(store, moved)
        results.extend(unsent)
        if store.pushes and store.store in adapters:
            runnable.append((store, adapters[store.store]))

    stop = _StopCheck(should_stop)
    with ThreadPoolExecutor(MAX_STORES_AT_ONCE, "apply") as pool:
        pushed = list(
            pool.map(
                lambda job: push_store(job[0], job[1], journal, progress, stop),
                runnable,
            )
        )
    for store_results, failure in pushed:
        results.extend(store_results)
        if failure is not None:
            failures.append(failure)
    return ApplyResult(tuple(results), tuple(failures), tuple(stop.left))


class _StopCheck:
    """The stop question of one apply, and the changes a stop left unwritten."""

    def __init__(self, should_stop: ShouldStop | None) -> None:
        self._should_stop = should_stop
        self.left: list[Change] = []

    def __call__(self, store: str, rest: Sequence[Change]) -> bool:
        """True (and ``rest`` kept as left) when no further batch may start."""
        if self._should_stop is None or not self._should_stop():
            return False
        self.left.extend(rest)
        log.info(
            "event=apply.stopped store=%s sku_count=%d next=next_pass",
            store,
            len(rest),
        )
        return True


def apply_pulls(
    plan: Plan, hub: Mapping[str, HubRecord], journal: Journal
) -> list[ChangeResult]:
    """Write every pull to the hub, with seen values and journal, at once;
    a store whose guard blocks has its pulls left out like its pushes."""
    pulls = [
        change
        for store in plan.stores
        if store.guard is None or not store.guard.blocks
        for change in store.pulls
    ]
    if not pulls:
        return []

    at = journal.now()
    records = [_pulled_record(hub[change.sku], change, at) for change in pulls]
    seen = [
        SeenValue(c.store, c.sku, c.expected_managed, c.expected_quantity, at)
        for c in pulls
    ]
    applied = [ChangeResult(change, Outcome.APPLIED) for change in pulls]
    read = {change.sku: hub.get(change.sku) for change in pulls}
    commit = journal.state.commit_pulls(
        records, seen, journal.entries(applied), read=read
    )

    results = [_pull_result(change, commit) for change in pulls]
    _log_pulls(results, commit)
    return results


def _pull_result(change: Change, commit: PullCommit) -> ChangeResult:
    """Applied, unless the hub moved on since the pass read it."""
    if change.sku in commit.moved:
        return ChangeResult(change, Outcome.STALE, message=HUB_MOVED)
    if change.sku in commit.already:
        return ChangeResult(change, Outcome.APPLIED, message=HUB_ALREADY)
    return ChangeResult(change, Outcome.APPLIED)


def _log_pulls(results: Sequence[ChangeResult], commit: PullCommit) -> None:
    log.info(
        "event=apply.pulls sku_count=%d applied=%d already=%d hub_moved=%d",
        len(results),
        len(results) - len(commit.moved) - len(commit.already),
        len(commit.already),
        len(commit.moved),
    )


def _without_moved(
    store: StorePlan, moved: Collection[str]
) -> tuple[StorePlan, list[ChangeResult]]:
    """The store's plan less the pushes of SKUs whose pull found the hub
    moved on: the value they carry may be older than the hub's now."""
    if not moved or not any(change.sku in moved for change in store.pushes):
        return store, []
    kept = tuple(change for change in store.pushes if change.sku not in moved)
    unsent = [
        ChangeResult(change, Outcome.STALE, message=HUB_MOVED)
        for change in store.pushes
        if change.sku in moved
    ]
    return dataclasses.replace(store, pushes=kept), unsent


def _pulled_record(record: HubRecord, change: Change, at: datetime) -> HubRecord:
    quantity = record.quantity_available if change.quantity is None else change.quantity
    return HubRecord(
        sku=record.sku,
        vendor=record.vendor,
        manage_inventory=change.managed,
        quantity_available=quantity,
        changed_at=at,
        source=f"store:{change.store}",
    )


def push_store(
    store: StorePlan,
    adapter: ChannelAdapter,
    journal: Journal,
    progress: BatchProgress | None = None,
    stop: _StopCheck | None = None,
) -> tuple[list[ChangeResult], StoreFailure | None]:
    """Write one store's pushes batch by batch; re-plan stale items once.

    After a stop, the stale items wait for the next pass like the rest.
    """
    try:
        return _push_store(store, adapter, journal, progress, stop)
    finally:
        if progress is not None:
            progress.store_done(store.store)


def _push_store(
    store: StorePlan,
    adapter: ChannelAdapter,
    journal: Journal,
    progress: BatchProgress | None,
    stop: _StopCheck | None,
) -> tuple[list[ChangeResult], StoreFailure | None]:
    stop = stop or _StopCheck(None)
    results, failure = _write_batches(
        store.store,
        store.pushes,
        adapter,
        journal,
        last_try=False,
        progress=progress,
        stop=stop,
    )
    stale = [r.change for r in results if r.outcome is Outcome.STALE]
    if stale and failure is None and stop(store.store, stale):
        return [r for r in results if r.outcome is not Outcome.STALE], None
    if not stale or failure is not None:
        return results, failure

    retried, failure = _retry_stale(store.store, stale, adapter, journal)
    return [r for r in results if r.outcome is not Outcome.STALE] + retried, failure


def _write_batches(
    store: str,
    changes: Sequence[Change],
    adapter: ChannelAdapter,
    journal: Journal,
    *,
    last_try: bool,
    progress: BatchProgress | None = None,
    stop: _StopCheck | None = None,
) -> tuple[list[ChangeResult], StoreFailure | None]:
    """Write and journal batch by batch; a channel error defers the rest.

    Stale items are journaled only on the ``last_try``; before it they wait
    for their re-read and retry. A ``stop`` ends the loop between batches.
    """
    results: list[ChangeResult] = []
    size = max(adapter.max_batch, 1)
    for start in range(0, len(changes), size):
        if stop is not None and stop(store, changes[start:]):
            break
        batch = changes[start : start + size]
        try:
            outcomes = adapter.write([change.desired() for change in batch])
        except ChannelError as error:
            rest = changes[start:]
            deferred = [
                ChangeResult(c, Outcome.DEFERRED, None, str(error)) for c in rest
            ]
            _record(store, deferred, journal, last_try=True)
            log.error(
                "event=apply.store store=%s outcome=failed error=%s", store, error
            )
            return results + deferred, StoreFailure(store, "write", str(error))
        batch_results = _match(batch, outcomes)
        _record(store, batch_results, journal, last_try=last_try)
        results.extend(batch_results)
        if progress is not None:
            applied = sum(1 for r in results if r.outcome is Outcome.APPLIED)
            progress.write_batch(store, len(results), len(changes), applied)
    return results, None


def _retry_stale(
    store: str, stale: Sequence[Change], adapter: ChannelAdapter, journal: Journal
) -> tuple[list[ChangeResult], StoreFailure | None]:
    """Re-read the stale items, re-plan them against what the channel holds
    now, and write once more; what is stale again waits for the next pass.

    The write planned from the first read is never sent again: the re-plan
    starts from the re-read values, so its compare-and-set expects them and
    its journal entry shows them as ``before``. An item the re-plan leaves
    nothing to write for is journaled as stale with the reason.
    """
    log.info("event=apply.stale store=%s sku_count=%d", store, len(stale))
    try:
        snapshot = adapter.read([change.sku for change in stale])
    except ChannelError as error:
        kept = [ChangeResult(c, Outcome.STALE, None, str(error)) for c in stale]
        _record(store, kept, journal, last_try=True)
        return kept, StoreFailure(store, "read", str(error))

    replanned: list[Change] = []
    planned_by_sku: dict[str, Change] = {}
    settled: list[ChangeResult] = []
    for change in stale:
        item = snapshot.get(change.sku)
        fresh = replan_change(change, item) if item is not None else None
        if fresh is None:
            settled.append(_not_replanned(change, item))
        else:
            replanned.append(fresh)
            planned_by_sku[fresh.sku] = change
    if settled:
        _record(store, settled, journal, last_try=True)

    written, failure = _write_batches(store, replanned, adapter, journal, last_try=True)
    retried = [
        dataclasses.replace(r, planned=planned_by_sku.get(r.change.sku))
        for r in written
    ]
    return settled + retried, failure


def _not_replanned(change: Change, item: ChannelItem | None) -> ChangeResult:
    """A stale change whose re-read leaves nothing to write this pass."""
    if item is None:
        reason = "the re-read did not find the item; left for the next pass"
    elif item.problem is not None:
        reason = f"the re-read found the item {item.problem}; left for the next pass"
    else:
        reason = "the re-read found the wanted values already there; nothing written"
    return ChangeResult(change, Outcome.STALE, None, reason)


def outcome_counts(plan: Plan, results: Sequence[ChangeResult]) -> dict[str, int]:
    """What became of the plan's changes, per target, for a run's summary.

    Keys are ``pulls_*`` (the hub) and ``pushes_*`` (the stores): ``planned``,
    ``applied`` and ``not_attempted`` (planned, never sent: a blocking guard,
    a stopped store or run) always; ``stale``, ``refused``, ``deferred``,
    ``failed``, ``replanned`` (applied or not after a stale re-read) and
    ``already`` (a pull another pass had made: in the hub, not journaled by
    this run, not counted as applied) only when some change ended that way,
    so a history line stays short.
    """
    by_key = {_key(result.change): result for result in results}
    counts: dict[str, int] = {}
    for store in plan.stores:
        for target, changes in (("pulls", store.pulls), ("pushes", store.pushes)):
            for change in changes:
                result = by_key.get(_key(change))
                _count(counts, target, result)
    for target in ("pulls", "pushes"):
        for name in ("planned", "applied", "not_attempted"):
            counts.setdefault(f"{target}_{name}", 0)
    return dict(sorted(counts.items()))


def _key(change: Change) -> tuple[str, str, str]:
    return (change.store, change.sku, change.target.value)


def _count(counts: dict[str, int], target: str, result: ChangeResult | None) -> None:
    names = ["planned"]
    if result is None:
        names.append("not_attempted")
    elif result.message == HUB_ALREADY:
        names.append("already")
    else:
        names.append(result.outcome.value)
        if result.replanned:
            names.append("replanned")
    for name in names:
        key = f"{target}_{name}"
        counts[key] = counts.get(key, 0) + 1


def _match(
    batch: Sequence[Change], outcomes: Sequence[ItemOutcome]
) -> list[ChangeResult]:
    """Pair each change with its outcome by SKU; a missing one is failed."""
    by_sku = {outcome.sku: outcome for outcome in outcomes}
    results = []
    for change in batch:
        outcome = by_sku.get(change.sku)
        if outcome is None:
            results.append(
                ChangeResult(
                    change, Outcome.FAILED, None, "the channel gave no outcome"
                )
            )
        else:
            results.append(
                ChangeResult(change, outcome.outcome, outcome.code, outcome.message)
            )
    return results


def _record(
    store: str, results: Sequence[ChangeResult], journal: Journal, *, last_try: bool
) -> None:
    """Journal a batch and the seen values of what was really written."""
    final = [r for r in results if last_try or r.outcome is not Outcome.STALE]
    at = journal.now()
    seen = [
        SeenValue(store, r.change.sku, r.change.managed, _written_quantity(r), at)
        for r in final
        if r.outcome is Outcome.APPLIED
    ]
    if final:
        journal.state.journal(journal.entries(final))
    if seen:
        journal.state.record_seen(seen)
    _log_batch(store, results)


def _written_quantity(result: ChangeResult) -> int | None:
    change = result.change
    return change.expected_quantity if change.quantity is None else change.quantity


def _log_batch(store: str, results: Sequence[ChangeResult]) -> None:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
    fields = " ".join(f"{name}={count}" for name, count in sorted(counts.items()))
    log.info("event=apply.batch store=%s sku_count=%d %s", store, len(results), fields)
    for result in results:
        if result.failed:
            log.error(
                "event=apply.item store=%s sku=%s outcome=%s code=%s message=%s",
                store,
                result.change.sku,
                result.outcome.value,
                result.code,
                result.message,
            )


def _text(value: bool | int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

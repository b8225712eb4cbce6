"""Per-store schedules of the daemon, held as data and tested on a fake clock.

The ``Scheduler`` only decides; it never waits and never runs a pass. The
service asks it which stores are due, tells it when a pass starts and how it
ended, and sleeps until ``next_wake``. Each store has its own due time, so a
slow or failing store never delays another: a failure only pushes back the
failing store, by a delay that grows with each consecutive failure, is capped,
and resets on the next success.

A store's SKUs may sync on several intervals (a product's or a vendor's
``interval`` overrides the store's): each interval is a group with its own due
time, and a pass covers the groups due when it starts. ``started`` says which
(``None`` when every group is due: a whole pass). A group due within a tenth
of its interval joins a pass that starts now, so groups that drift apart by
a pass's length do not start passes seconds apart.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class StoreStatus(enum.StrEnum):
    """What ``/status`` and ``reconcile status`` say about a store.

    - ``synced``: the last pass succeeded and left nothing to do;
    - ``out_of_sync``: not passed yet, or the last pass left differences;
    - ``degraded``: the last pass failed; the store is backing off;
    - ``suspended``: ``suspended: true`` in its store file.
    """

    SYNCED = "synced"
    OUT_OF_SYNC = "out_of_sync"
    DEGRADED = "degraded"
    SUSPENDED = "suspended"


FOLD = 0.1
"""Share of a group's interval within which a group not yet due joins a pass."""


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """What the daemon takes from a store's config: its interval in seconds,
    and the other intervals some of its SKUs sync on (product or vendor
    overrides), each passed on its own."""

    name: str
    interval: float
    suspended: bool = False
    intervals: tuple[float, ...] = ()

    @property
    def groups(self) -> tuple[float, ...]:
        """Every interval the store's SKUs sync on, shortest first."""
        return tuple(sorted({self.interval, *self.intervals}))


@dataclass(frozen=True, slots=True)
class PassOutcome:
    """What the daemon keeps from one pass of one store.

    ``changes`` counts the pass's changes by their outcome, and
    ``changes_by_store`` the same by the store each change concerns (a store's
    pass also pulls from the store's master); ``pending`` counts
    differences the pass found and did not resolve (failed or skipped items,
    or changes a stop left for the next pass); ``stopped`` says a stop ended
    the pass between two batches. ``throttle_waits`` counts waits for a
    channel's rate limit, ``retry_waits`` waits before retrying a failure,
    ``poll_waits`` waits for a Magento bulk's consumer.
    """

    ok: bool
    run_id: int | None = None
    changes: Mapping[str, int] = field(default_factory=dict)
    changes_by_store: Mapping[tuple[str, str], int] = field(default_factory=dict)
    drift: int = 0
    failed_items: int = 0
    throttle_waits: int = 0
    retry_waits: int = 0
    poll_waits: int = 0
    pending: int = 0
    error: str | None = None
    stopped: bool = False


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """How long a failing store waits before it is passed again.

    After ``n`` consecutive failures the wait is ``interval * factor ** n``,
    never more than ``cap`` seconds (and never less than one interval).
    """

    factor: float = 2.0
    cap: float = 900.0

    def delay(self, failures: int, interval: float) -> float:
        if failures <= 0:
            return interval
        return min(interval * self.factor**failures, max(self.cap, interval))


@dataclass(frozen=True, slots=True)
class StoreView:
    """One store's status at one moment, for ``/status`` and the CLI."""

    store: str
    status: StoreStatus
    interval: float
    last_pass_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_run: int | None = None
    failures: int = 0
    next_due_at: datetime | None = None
    running: bool = False
    held_by: str | None = None
    groups: tuple[tuple[float, datetime], ...] = ()
    """Each interval group's next due time, when the store has several."""


@dataclass
class _Slot:
    spec: StoreSpec
    next_due: float
    groups: dict[float, float] = field(default_factory=dict)
    """Each interval group's due time; ``next_due`` is the earliest."""
    passing: tuple[float, ...] = ()
    """The groups of the pass running now (or last run)."""
    group_pending: dict[float, int] = field(default_factory=dict)
    """What each group's last pass left unresolved: a pass of one group
    says nothing of the others."""
    failures: int = 0
    running: bool = False
    started: float | None = None
    passed_once: bool = False
    pending: int = 0
    last_pass_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_run: int | None = None
    held_by: str | None = None


class Scheduler:
    """Due times of every configured store on a monotonic clock."""

    def __init__(self, retry: RetrySchedule = RetrySchedule()) -> None:
        self.retry = retry
        self._slots: dict[str, _Slot] = {}

    def configure(self, specs: Mapping[str, StoreSpec], now: float) -> None:
        """Take a (re)loaded config's stores: new ones are due at once,
        removed ones are dropped, a changed interval counts from the last start.
        """
        for name in list(self._slots):
            if name not in specs:
                del self._slots[name]

        for name, spec in specs.items():
            slot = self._slots.get(name)
            if slot is None:
                groups = dict.fromkeys(spec.groups, now)
                self._slots[name] = _Slot(spec=spec, next_due=now, groups=groups)
                continue
            slot.groups = {
                group: self._regrouped(slot, group, now) for group in spec.groups
            }
            slot.spec = spec
            _settle(slot)

    @staticmethod
    def _regrouped(slot: _Slot, group: float, now: float) -> float:
        """A group's due time under a new config: kept when the group was
        there; else one interval from the last start (now if never started);
        a failing store keeps its backoff."""
        if slot.failures > 0:
            return slot.next_due
        if group in slot.groups:
            return slot.groups[group]
        return slot.started + group if slot.started is not None else now

    def stores(self) -> list[str]:
        return list(self._slots)

    def spec(self, store: str) -> StoreSpec:
        return self._slots[store].spec

    def due(self, now: float, allowed: frozenset[str] | None = None) -> list[str]:
        """Stores to pass now, most overdue first; ``allowed`` limits them to
        the stores this replica holds the lease of."""
        ready = [
            (slot.next_due, name)
            for name, slot in self._slots.items()
            if not slot.running
            and not slot.spec.suspended
            and slot.next_due <= now
            and (allowed is None or name in allowed)
        ]
        return [name for _, name in sorted(ready)]

    def started(self, store: str, now: float) -> frozenset[float] | None:
        """Mark the store's pass started; the interval groups it covers, or
        ``None`` when it covers them all."""
        slot = self._slots[store]
        slot.running = True
        slot.started = now
        slot.passing = tuple(
            group for group, due in slot.groups.items() if due <= now + FOLD * group
        )
        if len(slot.passing) == len(slot.groups):
            return None
        return frozenset(slot.passing)

    def finished(
        self, store: str, outcome: PassOutcome, now: float, at: datetime
    ) -> None:
        """Record a pass's end and set the store's next due time."""
        slot = self._slots.get(store)
        if slot is None:
            return

        slot.running = False
        slot.passed_once = True
        slot.last_pass_at = at
        slot.last_run = outcome.run_id
        passed = slot.passing or tuple(slot.groups)
        _keep_pending(slot, passed, outcome.pending)

        if outcome.ok:
            slot.failures = 0
            slot.last_success_at = at
            slot.last_error = None
            started = slot.started if slot.started is not None else now
            for group in passed:
                if group in slot.groups:
                    slot.groups[group] = max(started + group, now)
            _settle(slot)
            return

        slot.failures += 1
        slot.last_error = outcome.error or "the pass failed"
        base = min(slot.passing, default=slot.spec.interval)
        retry_at = now + self.retry.delay(slot.failures, base)
        slot.groups = {group: max(due, retry_at) for group, due in slot.groups.items()}
        _settle(slot)

    def acquired(self, store: str, now: float) -> None:
        """This replica just took the store's lease: it is due at once."""
        slot = self._slots.get(store)
        if slot is not None and not slot.running:
            slot.groups = {group: min(due, now) for group, due in slot.groups.items()}
            _settle(slot)

    def set_holder(self, store: str, holder: str | None) -> None:
        slot = self._slots.get(store)
        if slot is not None:
            slot.held_by = holder

    def failures(self, store: str) -> int:
        return self._slots[store].failures

    def running(self) -> list[str]:
        return [name for name, slot in self._slots.items() if slot.running]

    def next_wake(self, allowed: frozenset[str] | None = None) -> float | None:
        """The earliest due time of a store that could be passed, if any."""
        times = [
            slot.next_due
            for name, slot in self._slots.items()
            if not slot.running
            and not slot.spec.suspended
            and (allowed is None or name in allowed)
        ]
        return min(times, default=None)

    def views(self, now: float, wall: datetime) -> list[StoreView]:
        """Every store's status, with next due times on the wall clock."""
        return [self._view(name, slot, now, wall) for name, slot in self._slots.items()]

    def _view(self, name: str, slot: _Slot, now: float, wall: datetime) -> StoreView:
        due_at = None
        groups: tuple[tuple[float, datetime], ...] = ()
        if not slot.spec.suspended:
            due_at = wall + timedelta(seconds=max(slot.next_due - now, 0.0))
            if len(slot.groups) > 1:
                groups = tuple(
                    (group, wall + timedelta(seconds=max(due - now, 0.0)))
                    for group, due in sorted(slot.groups.items())
                )

        return StoreView(
            store=name,
            status=_status_of(slot),
            interval=slot.spec.interval,
            last_pass_at=slot.last_pass_at,
            last_success_at=slot.last_success_at,
            last_error=slot.last_error,
            last_run=slot.last_run,
            failures=slot.failures,
            next_due_at=due_at,
            running=slot.running,
            held_by=slot.held_by,
            groups=groups,
        )


def _status_of(slot: _Slot) -> StoreStatus:
    if slot.spec.suspended:
        return StoreStatus.SUSPENDED
    if slot.failures > 0:
        return StoreStatus.DEGRADED
    if not slot.passed_once or slot.pending > 0:
        return StoreStatus.OUT_OF_SYNC
    return StoreStatus.SYNCED


def _settle(slot: _Slot) -> None:
    """The store's next due time: its earliest group's."""
    slot.next_due = min(slot.groups.values(), default=slot.next_due)


def _keep_pending(slot: _Slot, passed: tuple[float, ...], pending: int) -> None:
    """What the pass left, as each group it covered's; the others keep theirs."""
    for group in passed:
        slot.group_pending[group] = pending
    slot.group_pending = {
        group: left
        for group, left in slot.group_pending.items()
        if group in slot.groups
    }
    slot.pending = sum(slot.group_pending.values())

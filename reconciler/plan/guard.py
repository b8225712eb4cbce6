"""The guard: stop a store's apply when its plan would zero or change too much.

Shares are taken of the store's managed SKUs as read in this pass: ``zeroed``
counts the changes that set a positive quantity to 0 or below, ``changed``
counts every change. Both count the store's pushes (the hub's values written
to the store) and its pulls (a master store's values written to the hub): a
master store that suddenly reports many zeroes, after a failed import on the
channel say, trips its guard before the hub takes them. A tripped guard stops
only that store, pulls and pushes alike; the planner then pushes nothing of
the SKUs whose master it is (``master_guarded``), since the hub's values of
those SKUs are in doubt. ``--allow-mass-change STORE`` overrides it for one
run.

Floors: a share of a handful of SKUs swings wildly (one change in a store
of ten is 10 %), so a guard trips only when the share exceeds the limit *and*
the count reaches a floor.

- Zeroes: the floor scales with the store,
  ``min(MIN_CHANGES_TO_TRIP, max(1, ceil(managed / FLOOR_DIVISOR)))``: 10 for
  a store of 46 managed SKUs or more, a fifth of the store below that (6 of
  30, 2 of 10, 1 of 5 or fewer; a store with no managed SKU counts as one).
  A flat floor of 10 let 9 of 30 SKUs (30 %) be zeroed under a 5 % limit, and
  a store of 9 SKUs be zeroed whole; a zero takes a product off sale.
- Changes: the flat ``MIN_CHANGES_TO_TRIP``. In a small store most SKUs
  change in an ordinary pass (every sale moves a quantity), and a change
  that is not a zero leaves the product on sale.

The message names the floor when it is below 10.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from reconciler.config.model import Mark, StoreConfig
from reconciler.plan.model import GuardVerdict, Plan, StorePlan

MIN_CHANGES_TO_TRIP = 10
FLOOR_DIVISOR = 5  # a fifth of the store, counted in whole SKUs

log = logging.getLogger(__name__)


def guard_plan(
    plan: Plan, configs: Mapping[str, StoreConfig], allow: Collection[str] = ()
) -> Plan:
    """The plan with every store's guard verdict filled in (not logged: a
    plan may be judged again after a re-plan; ``log_verdicts`` logs the
    final ones)."""
    stores = tuple(
        dataclasses.replace(
            store,
            guard=judge_store(store, configs[store.store], store.store in allow),
        )
        for store in plan.stores
    )
    return dataclasses.replace(plan, stores=stores)


def judge_store(store: StorePlan, config: StoreConfig, allow: bool) -> GuardVerdict:
    """Whether the store's pulls and pushes stay within its guard."""
    limits = config.guard
    zeroed = sum(1 for change in (*store.pulls, *store.pushes) if change.zeroes)
    changed = len(store.pulls) + len(store.pushes)
    managed = store.managed_count

    excesses = [
        excess
        for excess in (
            _excess("zeroes", zeroed, managed, limits.max_zeroed, config),
            _excess("changes", changed, managed, limits.max_changed, config),
        )
        if excess is not None
    ]
    message = _explain(excesses, store, config, allow) if excesses else None

    return GuardVerdict(
        store=store.store,
        managed=managed,
        zeroed=zeroed,
        changed=changed,
        max_zeroed=limits.max_zeroed,
        max_changed=limits.max_changed,
        tripped=message is not None,
        allowed=allow and message is not None,
        message=message,
        zeroed_at=_at(limits.zeroed_mark),
        changed_at=_at(limits.changed_mark),
    )


def _at(mark: Mark | None) -> str | None:
    return f"{mark.path}:{mark.line}" if mark is not None else None


@dataclass(frozen=True, slots=True)
class _Excess:
    """One limit a plan goes past: what, how much, and where it is set."""

    verb: str  # "zeroes" or "changes"
    count: int
    share: float
    setting: str  # e.g. "guard.max_zeroed is 5% in stores/x.yaml:12"
    written: bool  # set in a file, not by default


def _excess(
    verb: str, count: int, managed: int, limit: float, config: StoreConfig
) -> _Excess | None:
    """The excess when ``count`` of ``managed`` goes past ``limit``."""
    floor = trip_floor(managed) if verb == "zeroes" else MIN_CHANGES_TO_TRIP
    if count < floor:
        return None
    share = count / managed if managed else 1.0
    if share <= limit:
        return None

    name = "guard.max_zeroed" if verb == "zeroes" else "guard.max_changed"
    mark = config.guard.zeroed_mark if verb == "zeroes" else config.guard.changed_mark
    where = f"in {mark.path}:{mark.line}" if mark is not None else "by default"
    small = ""
    if floor < MIN_CHANGES_TO_TRIP:
        small = f" (a store of {managed:,} managed SKUs trips from {floor:,})"
    setting = f"{name} is {limit * 100:g}% {where}{small}"
    return _Excess(verb, count, share, setting, mark is not None)


def _explain(
    excesses: list[_Excess], store: StorePlan, config: StoreConfig, allow: bool
) -> str:
    """What the plan does past which limits, then the remedy unless allowed."""
    name, managed = store.store, store.managed_count
    if len(excesses) == 1:
        (one,) = excesses
        did = f"{one.verb} {one.count:,} of {managed:,} managed SKUs ({one.share:.1%})"
    else:
        did = " and ".join(f"{e.verb} {e.count:,} ({e.share:.1%})" for e in excesses)
        did += f" of {managed:,} managed SKUs"
    message = f"plan {did} on {name}; " + " and ".join(e.setting for e in excesses)

    zeroes_only = [e.verb for e in excesses] == ["zeroes"]
    pulled = (
        sum(1 for c in store.pulls if c.zeroes) if zeroes_only else len(store.pulls)
    )
    if pulled:
        message += f"; {pulled:,} of them the hub would take from {name}"
    if allow:
        return message
    written = all(e.written for e in excesses)
    it = "it" if len(excesses) == 1 else "them"
    change_it = f"raise {it}" if written else f"set {it} in {config.mark.path}"
    return f"{message}; {change_it}, or pass --allow-mass-change {name} to one run"


def trip_floor(managed: int) -> int:
    """The fewest zeroed SKUs that can trip a store's guard."""
    scaled = max(1, -(-managed // FLOOR_DIVISOR))  # ceil, in integers
    return min(MIN_CHANGES_TO_TRIP, scaled)


def log_verdicts(plan: Plan) -> None:
    """One warning per store whose guard tripped in the plan as applied."""
    for store in plan.stores:
        if store.guard is not None:
            _log_verdict(store.guard)


def _log_verdict(verdict: GuardVerdict) -> None:
    if not verdict.tripped:
        return
    log.warning(
        "event=guard.tripped store=%s zeroed=%d changed=%d managed=%d allowed=%s",
        verdict.store,
        verdict.zeroed,
        verdict.changed,
        verdict.managed,
        verdict.allowed,
    )

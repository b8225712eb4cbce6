"""The guard: stop a store's apply when its plan would zero or change too much.

Shares are taken of the store's managed SKUs as read in this pass: ``zeroed``
counts pushes that set a positive quantity to 0 or below, ``changed`` counts
every push. A tripped guard stops only that store; ``--allow-mass-change
STORE`` overrides it for one run.

Tiny stores: a share of a handful of SKUs swings wildly (one change in a
store of ten is 10 %), so a guard never trips on fewer than
``MIN_CHANGES_TO_TRIP`` zeroed or changed items. Above that floor the
configured share decides.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping

from reconciler.config.model import StoreConfig
from reconciler.plan.model import GuardVerdict, Plan, StorePlan

MIN_CHANGES_TO_TRIP = 10

log = logging.getLogger(__name__)


def guard_plan(
    plan: Plan, configs: Mapping[str, StoreConfig], allow: Collection[str] = ()
) -> Plan:
    """The plan with every store's guard verdict filled in."""
    stores = tuple(
        dataclasses.replace(
            store,
            guard=judge_store(store, configs[store.store], store.store in allow),
        )
        for store in plan.stores
    )
    return dataclasses.replace(plan, stores=stores)


def judge_store(store: StorePlan, config: StoreConfig, allow: bool) -> GuardVerdict:
    """Whether the store's pushes stay within its guard."""
    limits = config.guard
    zeroed = sum(1 for change in store.pushes if change.zeroes)
    changed = len(store.pushes)
    managed = store.managed_count

    message = _excess(store.store, "zeroes", zeroed, managed, limits.max_zeroed, config)
    if message is None:
        message = _excess(
            store.store, "changes", changed, managed, limits.max_changed, config
        )

    verdict = GuardVerdict(
        store=store.store,
        managed=managed,
        zeroed=zeroed,
        changed=changed,
        max_zeroed=limits.max_zeroed,
        max_changed=limits.max_changed,
        tripped=message is not None,
        allowed=allow and message is not None,
        message=message,
    )
    _log_verdict(verdict)
    return verdict


def _excess(
    store: str, verb: str, count: int, managed: int, limit: float, config: StoreConfig
) -> str | None:
    """The explanation when ``count`` of ``managed`` exceeds ``limit``."""
    if count < MIN_CHANGES_TO_TRIP:
        return None
    share = count / managed if managed else 1.0
    if share <= limit:
        return None

    setting = "guard.max_zeroed" if verb == "zeroes" else "guard.max_changed"
    return (
        f"plan {verb} {count:,} of {managed:,} managed SKUs ({share:.1%}) on "
        f"{store}; {setting} is {limit * 100:g}% in "
        f"{config.mark.path}; raise it or pass --allow-mass-change {store}"
    )


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

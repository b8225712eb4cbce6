"""The planner: a pure function from policies, hub and snapshots to a plan.

One loop over the hub's SKUs does all the work. For each SKU it asks the
policy of every configured store (``Policy.for_sku`` is cached), finds the
master store, plans the pull from it, and plans the pushes to the stores the
hub is master of with the pulled value, so a master store's figure reaches the
other stores in the same pass. Nothing is allocated per item beyond the
changes themselves; DeepDiff was rejected here because comparing 100,000
items must cost about what comparing two dicts costs (see ``bench/plan.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from reconciler.channels.base import ChannelItem, ChannelSnapshot, match_key
from reconciler.config.model import (
    Direction,
    Mode,
    NegativeStock,
    Repository,
    StoreConfig,
)
from reconciler.hub.records import HubRecord, SeenValue
from reconciler.plan.model import (
    MANAGE_INVENTORY,
    QUANTITY_AVAILABLE,
    Change,
    Conflict,
    FieldChange,
    Held,
    HoldReason,
    Label,
    Plan,
    Side,
    Skipped,
    SkipReason,
    StorePlan,
)


class DecidedDirection(Protocol):
    @property
    def value(self) -> Direction: ...


class DecidedMode(Protocol):
    @property
    def value(self) -> Mode: ...


class DecidedManage(Protocol):
    @property
    def value(self) -> bool | None: ...


class EffectivePolicy(Protocol):
    """What the planner reads of one (store, SKU)'s resolved policy."""

    @property
    def direction(self) -> DecidedDirection: ...

    @property
    def mode(self) -> DecidedMode: ...

    @property
    def manage_inventory(self) -> DecidedManage | None: ...


class PolicyView(Protocol):
    """What the planner needs of ``reconciler.policy.Policy``."""

    def for_sku(
        self, store: str, sku: str, vendor: str | None = None
    ) -> EffectivePolicy: ...

    @property
    def repository(self) -> Repository: ...


@dataclass(frozen=True, slots=True)
class Selection:
    """What a run names: only these SKUs (``None``: all), manual items too.

    A SKU named with ``--sku`` is selected even when its mode is manual.
    """

    skus: frozenset[str] | None = None
    include_manual: bool = False

    def selects_manual(self, sku: str) -> bool:
        return self.include_manual or (self.skus is not None and sku in self.skus)


@dataclass(slots=True)
class _StoreParts:
    """A store's plan while it is being built."""

    config: StoreConfig
    snapshot: ChannelSnapshot
    seen: Mapping[str, SeenValue]
    pulls: list[Change] = field(default_factory=list)
    pushes: list[Change] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def freeze(self) -> StorePlan:
        items = self.snapshot.items.values()
        return StorePlan(
            store=self.config.name,
            direction=str(self.config.defaults.direction.value)
            if self.config.defaults.direction is not None
            else Direction.NONE.value,
            pulls=tuple(self.pulls),
            pushes=tuple(self.pushes),
            held=tuple(self.held),
            skipped=tuple(self.skipped),
            managed_count=sum(1 for item in items if item.managed),
        )


def make_plan(
    policy: PolicyView,
    hub: Mapping[str, HubRecord],
    snapshots: Mapping[str, ChannelSnapshot],
    last_seen: Mapping[str, Mapping[str, SeenValue]],
    *,
    selection: Selection | None = None,
    now: datetime | None = None,
) -> Plan:
    """Plan the changes that make every non-master side match its master.

    ``snapshots`` holds the stores read in this pass; every configured store
    counts when looking for a SKU's master, so a conflict with a store that
    was not read is still found.
    """
    selection = selection or Selection()
    configs = policy.repository.stores
    parts = {
        name: _StoreParts(configs[name], snap, last_seen.get(name, {}))
        for name, snap in sorted(snapshots.items())
    }
    conflicts: list[Conflict] = []

    for sku in _planned_skus(hub, selection.skus):
        conflict = _plan_sku(policy, configs, parts, hub[sku], selection)
        if conflict is not None:
            conflicts.append(conflict)

    for store in parts.values():
        _report_unknown(policy, store, hub, selection.skus)

    return Plan(
        stores=tuple(store.freeze() for store in parts.values()),
        conflicts=tuple(conflicts),
        created_at=now or datetime.now(UTC),
    )


def _planned_skus(
    hub: Mapping[str, HubRecord], skus: Collection[str] | None
) -> list[str]:
    if skus is None:
        return sorted(hub)
    return sorted(sku for sku in skus if sku in hub)


def _plan_sku(
    policy: PolicyView,
    configs: Mapping[str, StoreConfig],
    parts: Mapping[str, _StoreParts],
    record: HubRecord,
    selection: Selection,
) -> Conflict | None:
    """Plan one SKU: find its master, pull from it, push to the others."""
    sku = record.sku
    effective = {name: policy.for_sku(name, sku, record.vendor) for name in configs}
    masters = [
        name
        for name, eff in effective.items()
        if eff.direction.value is Direction.CHANNEL_TO_HUB
    ]
    if len(masters) > 1:
        return Conflict(sku=sku, stores=tuple(sorted(masters)))

    managed, quantity = record.manage_inventory, record.quantity_available
    if masters and masters[0] in parts:
        store = parts[masters[0]]
        manual = effective[store.config.name].mode.value is Mode.MANUAL
        pulled = _plan_pull(store, record, manual and not selection.selects_manual(sku))
        if pulled is not None:
            managed, quantity = pulled

    for name, store in parts.items():
        eff = effective[name]
        if eff.direction.value is not Direction.HUB_TO_CHANNEL:
            continue
        hold = eff.mode.value is Mode.MANUAL and not selection.selects_manual(sku)
        wanted = eff.manage_inventory.value if eff.manage_inventory else None
        _plan_push(store, sku, managed if wanted is None else wanted, quantity, hold)
    return None


def _usable_item(store: _StoreParts, sku: str) -> ChannelItem | None:
    """The store's item of ``sku``, or ``None`` after recording why not."""
    item = store.snapshot.get(sku)
    if item is None:
        store.skipped.append(Skipped(store.config.name, sku, SkipReason.NOT_ON_STORE))
        return None
    if item.problem is not None:
        reason = SkipReason(item.problem.value)
        store.skipped.append(Skipped(store.config.name, sku, reason, item.detail))
        return None
    return item


def _plan_pull(
    store: _StoreParts, record: HubRecord, hold: bool
) -> tuple[bool, int] | None:
    """Plan the hub taking the master store's values.

    Returns the hub's values after the pull (managed, quantity), or ``None``
    when the hub keeps its own.
    """
    item = _usable_item(store, record.sku)
    if item is None:
        return None
    if item.managed and item.quantity is None:
        detail = "the master store manages stock but reports no quantity"
        store.skipped.append(
            Skipped(
                store.config.name, record.sku, SkipReason.UNMANAGED_QUANTITY, detail
            )
        )
        return None

    fields = _pull_fields(record, item)
    if not fields:
        return None
    if hold:
        store.held.append(
            Held(store.config.name, record.sku, Side.HUB, HoldReason.MANUAL, fields)
        )
        return None

    seen = store.seen.get(record.sku)
    label = _pull_label(record, item, seen)
    quantity = item.quantity if item.managed else None
    store.pulls.append(
        Change(
            store=store.config.name,
            sku=record.sku,
            target=Side.HUB,
            label=label,
            fields=fields,
            managed=item.managed,
            quantity=quantity,
            ref=item.ref,
            expected_managed=item.managed,
            expected_quantity=item.quantity,
        )
    )
    return item.managed, record.quantity_available if quantity is None else quantity


def _pull_fields(record: HubRecord, item: ChannelItem) -> tuple[FieldChange, ...]:
    fields: tuple[FieldChange, ...] = ()
    if record.manage_inventory != item.managed:
        fields += (
            FieldChange(MANAGE_INVENTORY, record.manage_inventory, item.managed),
        )
    if item.managed and item.quantity != record.quantity_available:
        fields += (
            FieldChange(QUANTITY_AVAILABLE, record.quantity_available, item.quantity),
        )
    return fields


def _pull_label(record: HubRecord, item: ChannelItem, seen: SeenValue | None) -> Label:
    """Why the hub changes: the master moved (update) or the hub did (drift)."""
    if record.manage_inventory != item.managed:
        return Label.UNTRACKED
    if seen is None:
        return Label.NEW
    if seen.managed != item.managed or seen.quantity != item.quantity:
        return Label.UPDATE
    return Label.DRIFT


def _plan_push(
    store: _StoreParts, sku: str, managed: bool, hub_quantity: int, hold: bool
) -> None:
    """Plan the store taking the hub's values (DESIGN.md section 5)."""
    item = _usable_item(store, sku)
    if item is None:
        return

    quantity, note = _pushed_quantity(store.config, managed, hub_quantity)
    fields = _push_fields(item, managed, quantity)
    if not fields:
        return
    name = store.config.name
    if hold:
        store.held.append(Held(name, sku, Side.CHANNEL, HoldReason.MANUAL, fields))
        return

    label = _push_label(item, managed, note, store.seen.get(sku))
    store.pushes.append(
        Change(
            store=name,
            sku=sku,
            target=Side.CHANNEL,
            label=label,
            fields=fields,
            managed=managed,
            quantity=quantity,
            ref=item.ref,
            expected_managed=item.managed,
            expected_quantity=item.quantity,
            note=note,
        )
    )


def _pushed_quantity(
    config: StoreConfig, managed: bool, hub_quantity: int
) -> tuple[int | None, str | None]:
    """The quantity a push writes, and a note when the hub's is negative."""
    if not managed:
        return None, None
    if hub_quantity >= 0:
        return hub_quantity, None
    if config.negative_stock is NegativeStock.PUSH_AS_IS:
        return hub_quantity, f"hub quantity {hub_quantity} pushed as is"
    return 0, f"hub quantity {hub_quantity} pushed as 0"


def _push_fields(
    item: ChannelItem, managed: bool, quantity: int | None
) -> tuple[FieldChange, ...]:
    fields: tuple[FieldChange, ...] = ()
    if item.managed != managed:
        fields += (FieldChange(MANAGE_INVENTORY, item.managed, managed),)
    if quantity is not None and item.quantity != quantity:
        fields += (FieldChange(QUANTITY_AVAILABLE, item.quantity, quantity),)
    return fields


def _push_label(
    item: ChannelItem, managed: bool, note: str | None, seen: SeenValue | None
) -> Label:
    """Why the store changes: see ``Label``; the first that applies wins."""
    if item.managed != managed:
        return Label.UNTRACKED
    if note is not None:
        return Label.NEGATIVE
    if seen is None:
        return Label.NEW
    if seen.managed != item.managed or seen.quantity != item.quantity:
        return Label.DRIFT
    return Label.UPDATE


def _report_unknown(
    policy: PolicyView,
    store: _StoreParts,
    hub: Mapping[str, HubRecord],
    skus: Collection[str] | None,
) -> None:
    """Skip the store's SKUs the hub does not know, where the store syncs them."""
    casefold = store.snapshot.casefold
    known = {match_key(sku, casefold=True) for sku in hub} if casefold else hub
    wanted = None if skus is None else {match_key(s, casefold=casefold) for s in skus}
    name = store.config.name
    for key, item in sorted(store.snapshot.items.items()):
        if key in known or (wanted is not None and key not in wanted):
            continue
        if policy.for_sku(name, item.sku).direction.value is Direction.NONE:
            continue
        store.skipped.append(Skipped(name, item.sku, SkipReason.UNKNOWN_TO_HUB))


def replan_change(change: Change, item: ChannelItem) -> Change | None:
    """A stale push planned again against the item as the channel holds it now.

    The wanted values stay; the expected values and fields follow the fresh
    read. ``None`` when the item already holds them or cannot be written.
    """
    if item.problem is not None:
        return None
    fields = _push_fields(item, change.managed, change.quantity)
    if not fields:
        return None
    return dataclasses.replace(
        change,
        fields=fields,
        expected_managed=item.managed,
        expected_quantity=item.quantity,
    )

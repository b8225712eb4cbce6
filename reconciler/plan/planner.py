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
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

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

_E = TypeVar("_E", Change, Held, Skipped)


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
    """A store's plan while it is being built.

    ``found``/``found_managed`` count the hub SKUs met on the store, so that
    the store's unknown SKUs are looked for only when there are some.
    """

    config: StoreConfig
    snapshot: ChannelSnapshot
    seen: Mapping[str, SeenValue]
    pulls: list[Change] = field(default_factory=list)
    pushes: list[Change] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    found: int = 0
    found_managed: int = 0

    def freeze(self, managed_count: int) -> StorePlan:
        direction = self.config.defaults.direction
        return StorePlan(
            store=self.config.name,
            direction=(direction.value if direction else Direction.NONE).value,
            pulls=_by_sku(self.pulls),
            pushes=_by_sku(self.pushes),
            held=_by_sku(self.held),
            skipped=_by_sku(self.skipped),
            managed_count=managed_count,
        )


def _by_sku(entries: list[_E]) -> tuple[_E, ...]:
    return tuple(sorted(entries, key=lambda entry: entry.sku))


@dataclass(frozen=True, slots=True)
class _Target:
    """A store a group of SKUs is planned for, with its resolved settings."""

    parts: _StoreParts
    manual: bool
    manage: bool | None
    items: Mapping[str, ChannelItem]
    casefold: bool


@dataclass(frozen=True, slots=True)
class _Route:
    """How a group of SKUs syncs: its master stores and the stores it feeds.

    ``master`` is set when exactly one store is master and it was read.
    """

    masters: tuple[str, ...]
    master: _Target | None
    targets: tuple[_Target, ...]


class _Routes:
    """Routes by vendor, resolved once per vendor through ``Policy.for_sku``.

    Every SKU of a vendor without product overrides resolves alike (that is
    the policy's contract), so one route serves them all; a product with
    overrides of its own gets its own route.
    """

    def __init__(self, policy: PolicyView, parts: Mapping[str, _StoreParts]) -> None:
        repository = policy.repository
        self._policy = policy
        self._parts = parts
        self._stores = tuple(repository.stores)
        self._vendor_of = repository.vendor_of
        self._overridden = frozenset(_skus_with_overrides(repository))
        self._by_vendor: dict[str | None, _Route] = {}

    def of(self, record: HubRecord) -> _Route:
        sku = record.sku
        listed = self._vendor_of.get(sku)
        if listed is not None and sku in self._overridden:
            return self._resolve(sku, listed)
        vendor = listed or record.vendor
        route = self._by_vendor.get(vendor)
        if route is None:
            route = self._by_vendor[vendor] = self._resolve(sku, vendor)
        return route

    def _resolve(self, sku: str, vendor: str | None) -> _Route:
        masters: list[str] = []
        targets: list[_Target] = []
        master: _Target | None = None
        for name in self._stores:
            eff = self._policy.for_sku(name, sku, vendor)
            direction = eff.direction.value
            if direction is Direction.CHANNEL_TO_HUB:
                masters.append(name)
            parts = self._parts.get(name)
            if parts is None or direction is Direction.NONE:
                continue
            manage = eff.manage_inventory.value if eff.manage_inventory else None
            manual = eff.mode.value is Mode.MANUAL
            snapshot = parts.snapshot
            target = _Target(parts, manual, manage, snapshot.items, snapshot.casefold)
            if direction is Direction.CHANNEL_TO_HUB:
                master = target
            else:
                targets.append(target)
        if len(masters) != 1:
            master = None
        return _Route(tuple(sorted(masters)), master, tuple(targets))


def _skus_with_overrides(repository: Repository) -> list[str]:
    return [
        sku
        for vendor in repository.vendors.values()
        for sku, product in vendor.products.items()
        if not product.override.is_empty() or product.stores
    ]


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
    routes = _Routes(policy, parts)
    conflicts: list[Conflict] = []

    for record in _planned_records(hub, selection.skus):
        route = routes.of(record)
        if len(route.masters) > 1:
            conflicts.append(Conflict(record.sku, route.masters))
            continue
        _plan_record(route, record, selection)

    stores = tuple(
        store.freeze(_unknown_and_managed(policy, store, hub, selection.skus))
        for store in parts.values()
    )
    conflicts.sort(key=lambda conflict: conflict.sku)
    return Plan(stores, tuple(conflicts), now or datetime.now(UTC))


def _planned_records(
    hub: Mapping[str, HubRecord], skus: Collection[str] | None
) -> Iterable[HubRecord]:
    if skus is None:
        return hub.values()
    return [hub[sku] for sku in sorted(skus) if sku in hub]


def _plan_record(route: _Route, record: HubRecord, selection: Selection) -> None:
    """Plan one SKU: pull from its master, then push to the stores it feeds.

    The common case, an item already in sync, is decided inline without a
    function call per store: this loop runs once per SKU and store.
    """
    sku = record.sku
    managed, quantity = record.manage_inventory, record.quantity_available
    master = route.master
    if master is not None and not _in_sync_with_master(master.parts, record):
        hold = master.manual and not selection.selects_manual(sku)
        pulled = _plan_pull(master.parts, record, hold)
        if pulled is not None:
            managed, quantity = pulled

    for target in route.targets:
        item = target.items.get(sku.casefold() if target.casefold else sku)
        wanted = managed if target.manage is None else target.manage
        parts = target.parts
        if item is not None:
            parts.found += 1
            parts.found_managed += item.managed
            if (
                item.problem is None
                and item.managed is wanted
                and (not wanted or (item.quantity == quantity and quantity >= 0))
            ):
                continue
        hold = target.manual and not selection.selects_manual(sku)
        _plan_push(parts, sku, wanted, quantity, hold)


def _in_sync_with_master(parts: _StoreParts, record: HubRecord) -> bool:
    """Whether the hub already holds the master store's values; counts the
    item as found on the store."""
    snapshot = parts.snapshot
    sku = record.sku
    item = snapshot.items.get(sku.casefold() if snapshot.casefold else sku)
    if item is None:
        return False
    parts.found += 1
    parts.found_managed += item.managed
    return (
        item.problem is None
        and item.managed is record.manage_inventory
        and (not item.managed or item.quantity == record.quantity_available)
    )


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


def _unknown_and_managed(
    policy: PolicyView,
    store: _StoreParts,
    hub: Mapping[str, HubRecord],
    skus: Collection[str] | None,
) -> int:
    """Skip the store's SKUs the hub does not know (where the store syncs
    them), and count the store's managed SKUs for the guard."""
    items = store.snapshot.items
    if skus is None and store.found == len(items):
        return store.found_managed

    casefold = store.snapshot.casefold
    known = {match_key(sku, casefold=casefold) for sku in hub}
    wanted = None if skus is None else {match_key(s, casefold=casefold) for s in skus}
    name = store.config.name
    for key, item in items.items():
        if key in known or (wanted is not None and key not in wanted):
            continue
        if policy.for_sku(name, item.sku).direction.value is not Direction.NONE:
            store.skipped.append(Skipped(name, item.sku, SkipReason.UNKNOWN_TO_HUB))
    return sum(1 for item in items.values() if item.managed)


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

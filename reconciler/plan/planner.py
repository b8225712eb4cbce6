"""The planner: a pure function from policies, hub and snapshots to a plan.

The hub's SKUs are grouped by route (master store and the stores it feeds,
resolved once per vendor through ``Policy.for_sku``); in the usual config all
of them share one route. Per route, one loop over the master store plans the
pulls, then one loop per store the hub feeds plans the pushes, using the
pulled values where a pull changed the hub. Items already in sync are decided
inline in those loops, and each store's lookups go through ``map`` over keys
made once per group; only differences reach the functions that build
changes.

A route whose one master store was not read in this pass (not selected,
suspended, or its read failed) pushes nothing: the hub's values of its SKUs
may be stale or placeholders the master's next read replaces (an import's
zero), so each SKU that differs on a store it feeds is skipped there as
``master_not_read``. A master store named in ``guarded`` (its guard stopped
its pulls) still has its pulls planned, for the report, but its route pushes
nothing either: its SKUs are skipped as ``master_guarded``.

Magento's stock status (``ChannelItem.in_stock``) is derived, not synced:
``not (managed and quantity <= 0)`` (DESIGN.md section 5). On a store the hub
feeds whose items carry it, an item whose flag says otherwise is pushed with
an ``is_in_stock`` field change. Whether a store's items carry the flag is
decided once per store (an adapter sets it on all of its items or on none),
so stores without it keep the plain comparison.

DeepDiff was rejected here because comparing 100,000 items must cost about
what comparing two dicts costs (see ``bench/plan.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import compress
from operator import attrgetter
from typing import Protocol, TypeVar

from reconciler.channels.base import (
    ChannelItem,
    ChannelSnapshot,
    ItemProblem,
    match_key,
)
from reconciler.config.model import (
    Direction,
    Mode,
    NegativeStock,
    Repository,
    StoreConfig,
)
from reconciler.hub.records import HubRecord, SeenValue
from reconciler.plan.model import (
    IS_IN_STOCK,
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

    A SKU named with ``--sku`` is selected even when its mode is manual;
    ``named`` is false when the SKUs only narrow the pass (the daemon's SKUs
    due on their own interval), and their manual items stay held.
    """

    skus: frozenset[str] | None = None
    include_manual: bool = False
    named: bool = True

    def selects_manual(self, sku: str) -> bool:
        if self.include_manual:
            return True
        return self.named and self.skus is not None and sku in self.skus


@dataclass(slots=True)
class _StoreParts:
    """A store's plan while it is being built.

    ``found``/``found_managed`` count the hub SKUs met on the store, so that
    the store's unknown SKUs are looked for only when there are some.
    ``flags_stock`` says whether the store's items carry an in-stock flag.
    """

    config: StoreConfig
    snapshot: ChannelSnapshot
    seen: Mapping[str, SeenValue]
    flags_stock: bool = False
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
    exact: Mapping[str, ChannelItem]


@dataclass(frozen=True, slots=True, eq=False)
class _Route:
    """How a group of SKUs syncs: its master stores and the stores it feeds.

    ``master`` is set when exactly one store is master and it was read;
    ``unread`` says why when exactly one store is master and it was not;
    ``guarded`` says why when that master's guard stopped its pulls.
    Routes that resolve alike are one object, so they compare by identity.
    """

    masters: tuple[str, ...]
    master: _Target | None
    targets: tuple[_Target, ...]
    unread: str | None = None
    guarded: str | None = None


_RouteKey = tuple[
    tuple[str, ...],
    tuple[str, bool, bool | None] | None,
    tuple[tuple[str, bool, bool | None], ...],
]


class _Routes:
    """Routes by vendor, resolved once per vendor through ``Policy.for_sku``.

    Every SKU of a vendor without product overrides resolves alike (that is
    the policy's contract), so one route serves them all; a product with
    overrides of its own gets its own route. Routes with the same settings
    are shared, so SKUs of differently configured vendors that sync alike
    are planned as one group.
    """

    def __init__(
        self,
        policy: PolicyView,
        parts: Mapping[str, _StoreParts],
        unread: Mapping[str, str],
        guarded: Mapping[str, str],
    ) -> None:
        repository = policy.repository
        self._policy = policy
        self._parts = parts
        self._unread = unread
        self._guarded = guarded
        self._stores = tuple(repository.stores)
        self.vendor_of = repository.vendor_of
        self._overridden = frozenset(_skus_with_overrides(repository))
        self._by_vendor: dict[str | None, _Route] = {}
        self._shared: dict[_RouteKey, _Route] = {}

    def of(self, record: HubRecord) -> _Route:
        sku = record.sku
        listed = self.vendor_of.get(sku)
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
            target = _Target(
                parts, manual, manage, snapshot.items, snapshot.casefold, snapshot.exact
            )
            if direction is Direction.CHANNEL_TO_HUB:
                master = target
            else:
                targets.append(target)
        if len(masters) != 1:
            return self._share(_Route(tuple(sorted(masters)), None, tuple(targets)))
        unread = None if master else self._why_unread(masters[0])
        guarded = self._guarded.get(masters[0]) if master else None
        if guarded is not None:
            guarded = f"the guard of master store {masters[0]} stopped it: {guarded}"
        route = _Route(tuple(masters), master, tuple(targets), unread, guarded)
        return self._share(route)

    def _why_unread(self, master: str) -> str:
        why = self._unread.get(master, "not read in this pass")
        return f"master store {master} was not read: {why}"

    def _share(self, route: _Route) -> _Route:
        key: _RouteKey = (
            route.masters,
            _target_key(route.master) if route.master else None,
            tuple(_target_key(target) for target in route.targets),
        )
        return self._shared.setdefault(key, route)


def _target_key(target: _Target) -> tuple[str, bool, bool | None]:
    return target.parts.config.name, target.manual, target.manage


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
    unread: Mapping[str, str] | None = None,
    guarded: Mapping[str, str] | None = None,
) -> Plan:
    """Plan the changes that make every non-master side match its master.

    ``snapshots`` holds the stores read in this pass; every configured store
    counts when looking for a SKU's master, so a conflict with a store that
    was not read is still found. ``unread`` says why a store was not read
    (``not selected``, ``read failed``), for the skips of the SKUs it is
    master of; ``guarded`` holds the master stores whose guard stopped their
    pulls, with the guard's message.
    """
    selection = selection or Selection()
    configs = policy.repository.stores
    parts = {
        name: _StoreParts(
            configs[name], snap, last_seen.get(name, {}), _flags_stock(snap)
        )
        for name, snap in sorted(snapshots.items())
    }
    routes = _Routes(policy, parts, unread or {}, guarded or {})
    conflicts: list[Conflict] = []

    records = _planned_records(hub, selection.skus)
    for route, group in _grouped(routes, records):
        if len(route.masters) > 1:
            conflicts.extend(Conflict(record.sku, route.masters) for record in group)
            continue
        _plan_group(route, _Group(group), selection)

    apart = _FoldedApart(hub)
    stores = tuple(
        store.freeze(_unknown_and_managed(policy, store, hub, selection.skus, apart))
        for store in parts.values()
    )
    conflicts.sort(key=lambda conflict: conflict.sku)
    return Plan(stores, tuple(conflicts), now or datetime.now(UTC))


def _flags_stock(snapshot: ChannelSnapshot) -> bool:
    """Whether the store's items carry an in-stock flag, told by one item: an
    adapter sets it on every item it reads (Magento) or on none (Shopify)."""
    first = next(iter(snapshot.items.values()), None)
    return first is not None and first.in_stock is not None


def _planned_records(
    hub: Mapping[str, HubRecord], skus: Collection[str] | None
) -> list[HubRecord]:
    if skus is None:
        return list(hub.values())
    return [hub[sku] for sku in sorted(skus) if sku in hub]


def _grouped(
    routes: _Routes, records: list[HubRecord]
) -> Iterable[tuple[_Route, list[HubRecord]]]:
    """The records by the route they sync along.

    The common case, every SKU syncing alike, is found from one record per
    vendor and the few SKUs a vendor file lists, without a step per record.
    """
    listed = _listed(routes.vendor_of, records)
    unlisted = _without(records, listed)
    found = {routes.of(record) for record in (*_one_per_vendor(unlisted), *listed)}
    if len(found) == 1:
        return [(found.pop(), records)]

    groups: dict[_Route, list[HubRecord]] = {}
    for record in records:
        route = routes.of(record)
        group = groups.get(route)
        if group is None:
            groups[route] = [record]
        else:
            group.append(record)
    return groups.items()


def _one_per_vendor(records: list[HubRecord]) -> Iterable[HubRecord]:
    """A record of each vendor among ``records`` (the usual case: one vendor)."""
    if len(set(map(_vendor, records))) <= 1:
        return records[:1]
    return dict(zip(map(_vendor, records), records, strict=True)).values()


_sku = attrgetter("sku")
_vendor = attrgetter("vendor")
_manage = attrgetter("manage_inventory")
_quantity = attrgetter("quantity_available")


def _listed(vendor_of: Mapping[str, str], records: list[HubRecord]) -> list[HubRecord]:
    """The records whose SKU a vendor file lists."""
    if not vendor_of:
        return []
    return list(compress(records, map(vendor_of.__contains__, map(_sku, records))))


def _without(records: list[HubRecord], some: list[HubRecord]) -> list[HubRecord]:
    if not some:
        return records
    left_out = {id(record) for record in some}
    return [record for record in records if id(record) not in left_out]


class _Group:
    """The records of one route, with their SKUs as each kind of store keys them.

    The casefolded SKUs are made once, for every casefolding store of the
    group. For ASCII SKUs ``str.lower`` gives what ``str.casefold`` gives, at
    a fraction of the cost.
    """

    __slots__ = ("_folded", "_managed", "_never_negative", "records", "skus")

    def __init__(self, records: list[HubRecord]) -> None:
        self.records = records
        self.skus = list(map(_sku, records))
        self._folded: list[str] | None = None
        self._managed: int | None = None
        self._never_negative: bool | None = None

    def managed_count(self) -> int:
        """How many of the records manage stock."""
        if self._managed is None:
            self._managed = sum(map(_manage, self.records))
        return self._managed

    def never_negative(self) -> bool:
        """Whether no record has a negative quantity."""
        if self._never_negative is None:
            lowest = min(map(_quantity, self.records), default=0)
            self._never_negative = lowest >= 0
        return self._never_negative

    def keys(self, casefold: bool) -> list[str]:
        """The SKUs in record order, casefolded when the store matches so."""
        if not casefold:
            return self.skus
        if self._folded is None:
            ascii_only = "".join(self.skus).isascii()
            fold = str.lower if ascii_only else str.casefold
            self._folded = list(map(fold, self.skus))
        return self._folded


_Pulled = dict[str, tuple[bool, int]]


def _plan_group(route: _Route, group: _Group, selection: Selection) -> None:
    """Plan one route's SKUs: pull from its master, then push to the stores
    it feeds, with the values pulled where there were some. Without its
    master's read, the route pushes nothing."""
    if route.unread is not None:
        for target in route.targets:
            _skip_unread(target, group, route.unread, SkipReason.MASTER_NOT_READ)
        return
    pulled: _Pulled = {}
    if route.master is not None:
        pulled = _plan_pulls(route.master, group, selection)
    for target in route.targets:
        if route.guarded is not None:
            _skip_unread(target, group, route.guarded, SkipReason.MASTER_GUARDED)
        else:
            _plan_pushes(target, group, pulled, selection)


def _skip_unread(
    target: _Target, group: _Group, detail: str, reason: SkipReason
) -> None:
    """Skip every SKU of the group that differs on the store, as its master
    store was not read (or was stopped by its guard): the hub's values of
    these SKUs are not the truth."""
    parts = target.parts
    behind = _out_of_sync(
        _found(target, group), group, target.manage, flags=parts.flags_stock
    )
    _count_found(parts, group, behind, target.manage)

    name = parts.config.name
    parts.skipped.extend(
        Skipped(name, record.sku, reason, detail) for record, _ in behind
    )


def _plan_pulls(master: _Target, group: _Group, selection: Selection) -> _Pulled:
    """Plan the hub taking the master store's values where they differ.

    Returns the hub's values after each pull by SKU.
    """
    behind = _out_of_sync(_found(master, group), group, None)
    parts = master.parts
    _count_found(parts, group, behind, None)

    pulled: _Pulled = {}
    for record, item in behind:
        hold = master.manual and not selection.selects_manual(record.sku)
        values = _plan_pull(parts, record, item, hold)
        if values is not None:
            pulled[record.sku] = values
    return pulled


def _plan_pushes(
    target: _Target, group: _Group, pulled: _Pulled, selection: Selection
) -> None:
    """Plan the store taking the hub's values where they differ.

    The store's items are compared with the hub records as they were; the
    SKUs whose values a pull changed are then planned with the pulled values.
    """
    manage = target.manage
    flags = target.parts.flags_stock
    behind = _out_of_sync(_found(target, group), group, manage, flags=flags)
    _count_found(target.parts, group, behind, manage)

    for record, item in behind:
        sku = record.sku
        if sku not in pulled:
            managed, quantity = record.manage_inventory, record.quantity_available
            _push_one(target, sku, managed, quantity, selection, item)
    for sku, (managed, quantity) in pulled.items():
        _push_one(target, sku, managed, quantity, selection, check=True)


_Behind = list[tuple[HubRecord, ChannelItem | None]]


def _found(target: _Target, group: _Group) -> list[ChannelItem | None]:
    """The store's item of each of the group's records, in record order.

    A casefolding store is asked by the SKU as the hub spells it first (its
    snapshot's exact index), and only the SKUs that miss are casefolded; when
    most miss (the hub spells SKUs in another case), all are casefolded.
    """
    if not target.casefold:
        return list(map(target.items.get, group.skus))
    found = list(map(target.exact.get, group.skus))
    missing = found.count(None)
    if not missing:
        return found
    if missing * 2 > len(found):
        return list(map(target.items.get, group.keys(True)))
    items = target.items
    for index, sku in enumerate(group.skus):
        if found[index] is None:
            found[index] = items.get(sku.casefold())
    return found


def _out_of_sync(
    found: list[ChannelItem | None],
    group: _Group,
    manage: bool | None,
    *,
    flags: bool = False,
) -> _Behind:
    """The records whose item is missing, has a problem or holds other values,
    each with the item the store's keys found (``None``: not found by key).

    An item is in sync when it has no problem, manages stock as wanted (the
    record's ``manage_inventory``, or ``manage`` when the store's policy sets
    it) and, when managed, holds the record's quantity and that is not
    negative; with ``flags`` (the store's items carry an in-stock flag) its
    flag must also be the one derived from those values. This loop runs once
    per SKU and store, so in the usual case (no managed override, no negative
    quantity in the group, no flags) a managed item with the record's
    quantity is let through by the first test, inline.
    """
    behind: _Behind = []
    lookup = found
    if flags:
        return _out_of_sync_flagged(lookup, group, manage)
    if manage is None and group.never_negative():
        for item, record in zip(lookup, group.records, strict=True):
            if item is not None and item.problem is None:
                if (
                    item.quantity == record.quantity_available
                    and item.managed is record.manage_inventory
                ):
                    continue
                if not (item.managed or record.manage_inventory):
                    continue
            behind.append((record, item))
        return behind

    for item, record in zip(lookup, group.records, strict=True):
        wanted = record.manage_inventory if manage is None else manage
        if item is not None and item.managed is wanted and item.problem is None:
            quantity = record.quantity_available
            if not wanted or (item.quantity == quantity and quantity >= 0):
                continue
        behind.append((record, item))
    return behind


def _out_of_sync_flagged(
    lookup: Iterable[ChannelItem | None], group: _Group, manage: bool | None
) -> _Behind:
    """``_out_of_sync`` for a store whose items carry an in-stock flag."""
    behind: _Behind = []
    for item, record in zip(lookup, group.records, strict=True):
        wanted = record.manage_inventory if manage is None else manage
        if item is not None and item.managed is wanted and item.problem is None:
            quantity = record.quantity_available
            in_sync = not wanted or (item.quantity == quantity and quantity >= 0)
            if in_sync and item.in_stock is _in_stock(wanted, item.quantity):
                continue
        behind.append((record, item))
    return behind


def _in_stock(managed: bool, quantity: int | None) -> bool:
    """Magento's stock status for these values (DESIGN.md section 5)."""
    return not (managed and quantity is not None and quantity <= 0)


def _count_found(
    parts: _StoreParts, group: _Group, behind: _Behind, manage: bool | None
) -> None:
    """Count the group's SKUs found on the store, and the managed ones.

    Only the records out of sync are visited: an item in sync manages stock
    exactly as wanted, so the managed items in sync are the wanted ones of
    the whole group less those of the records out of sync.
    """
    missing = behind_wanted = behind_managed = 0
    for record, item in behind:
        behind_wanted += record.manage_inventory if manage is None else manage
        if item is None:
            missing += 1
        else:
            behind_managed += item.managed and item.quantity is not None
    size = len(group.records)
    wanted = group.managed_count() if manage is None else size * manage
    parts.found += size - missing
    parts.found_managed += wanted - behind_wanted + behind_managed


def _push_one(
    target: _Target,
    sku: str,
    managed: bool,
    quantity: int,
    selection: Selection,
    item: ChannelItem | None = None,
    *,
    check: bool = False,
) -> None:
    """Plan one SKU's push of the hub's values.

    ``item`` is the store's item when the store's loop found it. ``check``
    first looks whether the item already holds the values (a SKU whose values
    a pull changed, which the store's loop compared with the old ones).
    """
    wanted = managed if target.manage is None else target.manage
    if check:
        item = target.items.get(sku.casefold() if target.casefold else sku)
        if (
            item is not None
            and item.problem is None
            and item.managed is wanted
            and (not wanted or (item.quantity == quantity and quantity >= 0))
            and (item.in_stock is None or item.in_stock is _in_stock(wanted, quantity))
        ):
            return
    hold = target.manual and not selection.selects_manual(sku)
    _plan_push(target.parts, sku, wanted, quantity, hold, item)


def _usable_item(
    store: _StoreParts, sku: str, item: ChannelItem | None
) -> ChannelItem | None:
    """The store's item of ``sku``, or ``None`` after recording why not.

    ``item`` is the item a store's loop already found, if any; otherwise the
    snapshot is asked, which also trims the SKU.
    """
    if item is None:
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
    store: _StoreParts, record: HubRecord, item: ChannelItem | None, hold: bool
) -> tuple[bool, int] | None:
    """Plan the hub taking the master store's values.

    Returns the hub's values after the pull (managed, quantity), or ``None``
    when the hub keeps its own.
    """
    item = _usable_item(store, record.sku, item)
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
    store: _StoreParts,
    sku: str,
    managed: bool,
    hub_quantity: int,
    hold: bool,
    item: ChannelItem | None,
) -> None:
    """Plan the store taking the hub's values (DESIGN.md section 5)."""
    if item is None or item.problem is not None:
        item = _usable_item(store, sku, item)
        if item is None:
            return

    quantity: int | None
    if managed and hub_quantity >= 0:
        quantity, note = hub_quantity, None  # the usual case, without a call
    else:
        quantity, note = _pushed_quantity(store.config, managed, hub_quantity)
    fields = _push_fields(item, managed, quantity)
    if not fields:
        return
    name = store.config.name
    fixed = store.snapshot.managed_fixed
    if fixed is not None and item.managed is not managed:
        detail = f"{_flag_text(item.managed, managed)}; {fixed}"
        store.skipped.append(Skipped(name, sku, SkipReason.NOT_WRITABLE, detail))
        return
    if hold:
        store.held.append(Held(name, sku, Side.CHANNEL, HoldReason.MANUAL, fields))
        return

    label = _push_label(item, managed, note, store.seen.get(sku), fields)
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


def _flag_text(on_store: bool, in_hub: bool) -> str:
    def word(managed: bool) -> str:
        return "managed" if managed else "not managed"

    return f"stock {word(on_store)} on the store, {word(in_hub)} in the hub"


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
    if item.in_stock is not None:
        in_stock = _in_stock(managed, item.quantity if quantity is None else quantity)
        if item.in_stock is not in_stock:
            fields += (FieldChange(IS_IN_STOCK, item.in_stock, in_stock),)
    return fields


def _push_label(
    item: ChannelItem,
    managed: bool,
    note: str | None,
    seen: SeenValue | None,
    fields: tuple[FieldChange, ...],
) -> Label:
    """Why the store changes: see ``Label``; the first that applies wins. A
    change of the in-stock flag alone is drift: the hub's values did not
    move, the store's flag is wrong."""
    if item.managed != managed:
        return Label.UNTRACKED
    if note is not None:
        return Label.NEGATIVE
    if seen is None:
        return Label.NEW
    if len(fields) == 1 and fields[0].field == IS_IN_STOCK:
        return Label.DRIFT  # each field appears once: the flag is all that moves
    if seen.managed != item.managed or seen.quantity != item.quantity:
        return Label.DRIFT
    return Label.UPDATE


class _FoldedApart:
    """Whether no two of the hub's SKUs casefold alike, worked out once.

    Two hub SKUs that casefold alike find the same item on a casefolding
    store, so its count of SKUs found says nothing about unknown ones then.
    SKUs of ASCII letters of one case cannot collide, which a look at all of
    them joined tells without a set of 100,000 keys.
    """

    __slots__ = ("_answer", "_hub")

    def __init__(self, hub: Mapping[str, HubRecord]) -> None:
        self._hub = hub
        self._answer: bool | None = None

    def __call__(self) -> bool:
        if self._answer is None:
            self._answer = _folded_apart(self._hub.keys())
        return self._answer


def _folded_apart(skus: Collection[str]) -> bool:
    joined = "".join(skus)
    if joined.isascii() and (joined.upper() == joined or joined.lower() == joined):
        return True
    return len({sku.casefold() for sku in skus}) == len(skus)


def _unknown_and_managed(
    policy: PolicyView,
    store: _StoreParts,
    hub: Mapping[str, HubRecord],
    skus: Collection[str] | None,
    apart: _FoldedApart,
) -> int:
    """Skip the store's SKUs the hub does not know (where the store syncs
    them), and count the store's managed SKUs for the guard. Items the channel
    will not take a write for (configurable and bundle parents) carry no stock
    of their own: they are not reported as unknown, nor counted.

    When every item was found by a hub SKU of its own, there is nothing to
    look for and the count is the one the store's loops made. A pass that
    read only some SKUs (``--sku``) counts the store's managed SKUs as last
    seen, when that is more, so that its guard weighs a change against the
    whole store and not against the few SKUs it names.
    """
    items = store.snapshot.items
    casefold = store.snapshot.casefold
    if skus is None and store.found == len(items) and (not casefold or apart()):
        return store.found_managed

    known = {match_key(sku, casefold=casefold) for sku in hub}
    wanted = None if skus is None else {match_key(s, casefold=casefold) for s in skus}
    name = store.config.name
    for key, item in items.items():
        if key in known or (wanted is not None and key not in wanted):
            continue
        if item.problem is ItemProblem.NOT_WRITABLE:
            continue  # a parent product: no stock of its own to sync or report
        if policy.for_sku(name, item.sku).direction.value is not Direction.NONE:
            store.skipped.append(Skipped(name, item.sku, SkipReason.UNKNOWN_TO_HUB))
    managed = sum(1 for item in items.values() if _holds_stock(item))
    if skus is None:
        return managed
    seen = sum(1 for v in store.seen.values() if v.managed and v.quantity is not None)
    return max(managed, seen)


def _holds_stock(item: ChannelItem) -> bool:
    """Whether the item manages a stock of its own (a parent product does not)."""
    return item.managed and item.quantity is not None


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
    return change._replace(
        fields=fields,
        expected_managed=item.managed,
        expected_quantity=item.quantity,
    )

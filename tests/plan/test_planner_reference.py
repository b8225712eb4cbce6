"""The planner against a plain per-SKU reference, on random inputs.

The planner groups SKUs by route, decides in-sync items inline and counts
what it met to skip work; the reference below does none of that: one SKU at a
time, every store asked through ``Policy.for_sku``. Both must give the same
plan for any config, hub, snapshots, last-seen values and selection:
vendors configured differently, master stores feeding the others in the same
pass, manual stores, and SKUs that casefold alike (non-ASCII among them) on
stores that match case-insensitively, master stores left unread (their SKUs
are pushed nowhere), and stores whose items carry Magento's in-stock flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.channels.base import (
    ChannelItem,
    ChannelSnapshot,
    ItemProblem,
    match_key,
)
from reconciler.config.model import (
    Direction,
    MagentoChannel,
    Mode,
    NegativeStock,
    Product,
    Repository,
    Settings,
    StoreConfig,
    SyncOverride,
    VendorConfig,
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
from reconciler.plan.planner import Selection, make_plan
from reconciler.policy import EffectivePolicy, Policy
from tests.plan.builders import AT, mark, override, store

# Pairs that casefold alike: "Straße"/"STRASSE", "ÉTÉ"/"été", "ﬁ-1"/"FI-1".
SKUS = ("A-1", "a-1", "B-2", "Straße", "STRASSE", "ÉTÉ", "été", "ﬁ-1", "FI-1")
STORES = ("eu", "uk", "us")
VENDORS = ("acme", "zeta")

directions = st.sampled_from(list(Direction))
modes = st.sampled_from(list(Mode))
manages = st.none() | st.booleans()
quantities = st.integers(-2, 5)


@st.composite
def overrides(draw: st.DrawFn, path: str) -> SyncOverride:
    direction = draw(st.none() | directions)
    mode = draw(st.none() | modes)
    return override(path, direction, mode, draw(manages))


@st.composite
def store_configs(draw: st.DrawFn, name: str) -> StoreConfig:
    negative = draw(st.sampled_from(list(NegativeStock)))
    magento = draw(st.booleans())
    return store(
        name, draw(directions), draw(modes), magento=magento, negative=negative
    )


@st.composite
def vendor_configs(draw: st.DrawFn, name: str, skus: list[str]) -> VendorConfig:
    path = f"vendors/{name}.yaml"
    products = {}
    for sku in skus:
        own = draw(overrides(path))
        per_store = draw(st.dictionaries(st.sampled_from(STORES), overrides(path)))
        products[sku] = Product(sku, mark(path), own, per_store)
    per_store = draw(st.dictionaries(st.sampled_from(STORES), overrides(path)))
    return VendorConfig(
        name,
        mark(path),
        override=draw(overrides(path)),
        stores=per_store,
        products=products,
    )


@st.composite
def repositories(draw: st.DrawFn) -> Repository:
    stores = {name: draw(store_configs(name)) for name in STORES}
    listed = draw(st.lists(st.sampled_from(SKUS), unique=True, max_size=4))
    split = draw(st.integers(0, len(listed)))
    vendors = {
        "acme": draw(vendor_configs("acme", listed[:split])),
        "zeta": draw(vendor_configs("zeta", listed[split:])),
    }
    vendor_of = {sku: v.name for v in vendors.values() for sku in v.products}
    return Repository("config", Settings(), stores, vendors, vendor_of)


@st.composite
def hubs(draw: st.DrawFn) -> dict[str, HubRecord]:
    skus = draw(st.lists(st.sampled_from(SKUS), unique=True))
    return {
        sku: HubRecord(
            sku,
            draw(st.none() | st.sampled_from(VENDORS)),
            draw(st.booleans()),
            draw(quantities),
            AT,
            "import:test.csv",
        )
        for sku in skus
    }


@st.composite
def items(draw: st.DrawFn, flags: bool) -> ChannelItem:
    """An item; with ``flags`` it carries an in-stock flag, as a Magento
    adapter sets on every item it reads."""
    sku = draw(st.sampled_from(SKUS))
    problem = draw(st.none() | st.sampled_from(list(ItemProblem)))
    detail = None if problem is None else f"{problem} on {sku}"
    quantity = draw(st.none() | quantities)
    in_stock = draw(st.booleans()) if flags else None
    return ChannelItem(
        sku, f"ref-{sku}", draw(st.booleans()), quantity, in_stock, problem, detail
    )


@st.composite
def snapshots(draw: st.DrawFn, repository: Repository) -> dict[str, ChannelSnapshot]:
    read = draw(st.lists(st.sampled_from(STORES), unique=True))
    result = {}
    for name in read:
        config = repository.stores[name]
        casefold = isinstance(config.channel, MagentoChannel)
        flags = draw(st.booleans())
        keyed = {
            match_key(i.sku, casefold=casefold): i for i in draw(st.lists(items(flags)))
        }
        result[name] = ChannelSnapshot(name, keyed, casefold=casefold)
    return result


@st.composite
def last_seen(draw: st.DrawFn) -> dict[str, dict[str, SeenValue]]:
    result = {}
    for name in draw(st.lists(st.sampled_from(STORES), unique=True)):
        skus = draw(st.lists(st.sampled_from(SKUS), unique=True))
        result[name] = {
            sku: SeenValue(
                name, sku, draw(st.booleans()), draw(st.none() | quantities), AT
            )
            for sku in skus
        }
    return result


selections = st.builds(
    Selection,
    st.none() | st.frozensets(st.sampled_from(SKUS)),
    st.booleans(),
)


@dataclass
class _Entries:
    pulls: list[Change]
    pushes: list[Change]
    held: list[Held]
    skipped: list[Skipped]


def reference_plan(
    policy: Policy,
    hub: Mapping[str, HubRecord],
    snapshots: Mapping[str, ChannelSnapshot],
    seen: Mapping[str, Mapping[str, SeenValue]],
    selection: Selection,
) -> Plan:
    """The plan worked out one SKU at a time, straight from the rules."""
    entries = {name: _Entries([], [], [], []) for name in snapshots}
    conflicts = []
    skus = (
        sorted(hub) if selection.skus is None else sorted(selection.skus & hub.keys())
    )
    for sku in skus:
        record = hub[sku]
        policies = {
            name: policy.for_sku(name, sku, record.vendor)
            for name in policy.repository.stores
        }
        masters = sorted(
            name
            for name, eff in policies.items()
            if eff.direction.value is Direction.CHANNEL_TO_HUB
        )
        if len(masters) > 1:
            conflicts.append(Conflict(sku, tuple(masters)))
            continue

        managed, quantity = record.manage_inventory, record.quantity_available
        if masters and masters[0] not in snapshots:
            _reference_unread(entries, policies, snapshots, record, masters[0])
            continue
        if masters:
            manual = policies[masters[0]].mode.value is Mode.MANUAL
            hold = manual and not selection.selects_manual(sku)
            pulled = _reference_pull(
                entries[masters[0]],
                masters[0],
                snapshots[masters[0]],
                seen.get(masters[0], {}),
                record,
                hold,
            )
            if pulled is not None:
                managed, quantity = pulled

        for name, snapshot in snapshots.items():
            eff = policies[name]
            direction = eff.direction.value
            if direction in (Direction.NONE, Direction.CHANNEL_TO_HUB):
                continue
            setting = eff.manage_inventory
            wanted = (
                managed if setting is None or setting.value is None else setting.value
            )
            hold = eff.mode.value is Mode.MANUAL and not selection.selects_manual(sku)
            _reference_push(
                entries[name],
                policy.repository.stores[name],
                snapshot,
                seen.get(name, {}),
                sku,
                wanted,
                quantity,
                hold,
            )

    plans = tuple(
        _reference_store_plan(
            policy,
            name,
            entries[name],
            snapshots[name],
            hub,
            selection,
            seen.get(name, {}),
        )
        for name in sorted(snapshots)
    )
    return Plan(plans, tuple(sorted(conflicts, key=lambda c: c.sku)), AT)


def _reference_unread(
    entries: Mapping[str, _Entries],
    policies: Mapping[str, EffectivePolicy],
    snapshots: Mapping[str, ChannelSnapshot],
    record: HubRecord,
    master: str,
) -> None:
    """A SKU whose one master store was not read: skipped where it differs."""
    detail = f"master store {master} was not read: not read in this pass"
    for name, snapshot in snapshots.items():
        eff = policies[name]
        if eff.direction.value in (Direction.NONE, Direction.CHANNEL_TO_HUB):
            continue
        setting = eff.manage_inventory
        managed = record.manage_inventory
        wanted = managed if setting is None or setting.value is None else setting.value
        found = snapshot.items.get(match_key(record.sku, casefold=snapshot.casefold))
        if not _in_sync(found, wanted, record.quantity_available):
            reason = SkipReason.MASTER_NOT_READ
            entries[name].skipped.append(Skipped(name, record.sku, reason, detail))


def _in_sync(found: ChannelItem | None, wanted: bool, quantity: int) -> bool:
    """Whether the item holds the values wanted, its flag (if any) included."""
    if found is None or found.problem is not None or found.managed != wanted:
        return False
    if wanted and (found.quantity != quantity or quantity < 0):
        return False
    return found.in_stock is None or found.in_stock == _derived(wanted, quantity)


def _derived(managed: bool, quantity: int | None) -> bool:
    """DESIGN.md section 5: out of stock only when managed and nothing left."""
    return not managed or quantity is None or quantity > 0


def _usable(
    entries: _Entries, name: str, snapshot: ChannelSnapshot, sku: str
) -> ChannelItem | None:
    found = snapshot.items.get(match_key(sku, casefold=snapshot.casefold))
    if found is None:
        entries.skipped.append(Skipped(name, sku, SkipReason.NOT_ON_STORE))
        return None
    if found.problem is not None:
        reason = SkipReason(found.problem.value)
        entries.skipped.append(Skipped(name, sku, reason, found.detail))
        return None
    return found


def _reference_pull(
    entries: _Entries,
    name: str,
    snapshot: ChannelSnapshot,
    seen: Mapping[str, SeenValue],
    record: HubRecord,
    hold: bool,
) -> tuple[bool, int] | None:
    sku = record.sku
    found = _usable(entries, name, snapshot, sku)
    if found is None:
        return None
    if found.managed and found.quantity is None:
        detail = "the master store manages stock but reports no quantity"
        entries.skipped.append(
            Skipped(name, sku, SkipReason.UNMANAGED_QUANTITY, detail)
        )
        return None
    fields = []
    if record.manage_inventory != found.managed:
        fields.append(
            FieldChange(MANAGE_INVENTORY, record.manage_inventory, found.managed)
        )
    if found.managed and found.quantity != record.quantity_available:
        fields.append(
            FieldChange(QUANTITY_AVAILABLE, record.quantity_available, found.quantity)
        )
    if not fields:
        return None
    if hold:
        entries.held.append(Held(name, sku, Side.HUB, HoldReason.MANUAL, tuple(fields)))
        return None

    last = seen.get(sku)
    if record.manage_inventory != found.managed:
        label = Label.UNTRACKED
    elif last is None:
        label = Label.NEW
    elif (last.managed, last.quantity) != (found.managed, found.quantity):
        label = Label.UPDATE
    else:
        label = Label.DRIFT
    quantity = found.quantity if found.managed else None
    entries.pulls.append(
        Change(
            name,
            sku,
            Side.HUB,
            label,
            tuple(fields),
            found.managed,
            quantity,
            found.ref,
            found.managed,
            found.quantity,
        )
    )
    return found.managed, record.quantity_available if quantity is None else quantity


def _reference_push(
    entries: _Entries,
    config: StoreConfig,
    snapshot: ChannelSnapshot,
    seen: Mapping[str, SeenValue],
    sku: str,
    managed: bool,
    hub_quantity: int,
    hold: bool,
) -> None:
    name = config.name
    found = _usable(entries, name, snapshot, sku)
    if found is None:
        return
    note = None
    quantity: int | None = hub_quantity if managed else None
    if managed and hub_quantity < 0:
        if config.negative_stock is NegativeStock.PUSH_AS_IS:
            note = f"hub quantity {hub_quantity} pushed as is"
        else:
            quantity, note = 0, f"hub quantity {hub_quantity} pushed as 0"
    fields = []
    if found.managed != managed:
        fields.append(FieldChange(MANAGE_INVENTORY, found.managed, managed))
    if quantity is not None and found.quantity != quantity:
        fields.append(FieldChange(QUANTITY_AVAILABLE, found.quantity, quantity))
    flag = _derived(managed, found.quantity if quantity is None else quantity)
    if found.in_stock is not None and found.in_stock != flag:
        fields.append(FieldChange(IS_IN_STOCK, found.in_stock, flag))
    if not fields:
        return
    if hold:
        entries.held.append(
            Held(name, sku, Side.CHANNEL, HoldReason.MANUAL, tuple(fields))
        )
        return

    last = seen.get(sku)
    if found.managed != managed:
        label = Label.UNTRACKED
    elif note is not None:
        label = Label.NEGATIVE
    elif last is None:
        label = Label.NEW
    elif (last.managed, last.quantity) != (found.managed, found.quantity):
        label = Label.DRIFT
    elif [f.field for f in fields] == [IS_IN_STOCK]:
        label = Label.DRIFT  # the flag alone is wrong: the store drifted
    else:
        label = Label.UPDATE
    entries.pushes.append(
        Change(
            name,
            sku,
            Side.CHANNEL,
            label,
            tuple(fields),
            managed,
            quantity,
            found.ref,
            found.managed,
            found.quantity,
            note,
        )
    )


def _reference_store_plan(
    policy: Policy,
    name: str,
    entries: _Entries,
    snapshot: ChannelSnapshot,
    hub: Mapping[str, HubRecord],
    selection: Selection,
    seen: Mapping[str, SeenValue],
) -> StorePlan:
    casefold = snapshot.casefold
    known = {match_key(sku, casefold=casefold) for sku in hub}
    named = None
    if selection.skus is not None:
        named = {match_key(sku, casefold=casefold) for sku in selection.skus}
    for key, found in snapshot.items.items():
        if key in known or (named is not None and key not in named):
            continue
        if found.problem is ItemProblem.NOT_WRITABLE:
            continue
        if policy.for_sku(name, found.sku).direction.value is not Direction.NONE:
            entries.skipped.append(Skipped(name, found.sku, SkipReason.UNKNOWN_TO_HUB))

    direction = policy.repository.stores[name].defaults.direction
    return StorePlan(
        name,
        (direction.value if direction else Direction.NONE).value,
        pulls=tuple(sorted(entries.pulls, key=lambda e: e.sku)),
        pushes=tuple(sorted(entries.pushes, key=lambda e: e.sku)),
        held=tuple(sorted(entries.held, key=lambda e: e.sku)),
        skipped=tuple(sorted(entries.skipped, key=lambda e: e.sku)),
        managed_count=_managed_count(snapshot, selection, seen),
    )


def _managed_count(
    snapshot: ChannelSnapshot, selection: Selection, seen: Mapping[str, SeenValue]
) -> int:
    """Items holding a managed stock of their own; with a selection, the
    store's last seen ones when there are more."""
    read = [f for f in snapshot.items.values() if f.managed and f.quantity is not None]
    if selection.skus is None:
        return len(read)
    last = [v for v in seen.values() if v.managed and v.quantity is not None]
    return max(len(read), len(last))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_planner_agrees_with_the_per_sku_reference(data: st.DataObject) -> None:
    repository = data.draw(repositories(), label="repository")
    hub = data.draw(hubs(), label="hub")
    read = data.draw(snapshots(repository), label="snapshots")
    seen = data.draw(last_seen(), label="last_seen")
    selection = data.draw(selections, label="selection")
    policy = Policy(repository)

    plan = make_plan(policy, hub, read, seen, selection=selection, now=AT)

    assert plan == reference_plan(policy, hub, read, seen, selection)

"""Which effective policies a config change changes: ``reconcile diff``.

Two validated configs (a base revision and the working tree) are compared
setting by setting, where their policies are decided:

- per store and vendor: the settings every SKU of that vendor shares unless
  it sets the setting itself (vendor ``None``: SKUs of no vendor). A change
  there changes every such SKU, listed or known only from the hub;
- per product: a SKU with an override of its own in either config, or whose
  vendor changes, compared on every store; a change its vendor's line
  already says (same store, setting, values and source) is not said again.

A SKU's vendor is its vendor file's, else its hub record's (``hub_vendors``),
as in a pass. Only values are compared: a setting moved to another line with
the same value is no change. Each change names where its new value comes from
(``path:line (level)``), as ``reconcile explain`` does. A store added or
removed is described by its own settings, or by what it was master of.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.config.model import Direction
from reconciler.policy import Decided, EffectivePolicy, Policy, Resolved

SETTINGS = ("direction", "mode", "interval", "manage_inventory")

Settings = Resolved | EffectivePolicy


@dataclass(frozen=True, slots=True)
class SettingChange:
    """One setting of one scope whose value differs.

    ``before``/``after`` are the values (``None``: no level sets it, the hub
    record decides); ``source`` says where the new value comes from.
    ``vendor_file`` says whether the vendor's file was ``added`` or
    ``removed`` by the change (``None``: it is in both, or no vendor).
    """

    store: str
    setting: str
    before: Any
    after: Any
    source: str
    vendor: str | None = None
    sku: str | None = None
    vendor_before: str | None = None
    vendor_file: str | None = None

    @property
    def scope(self) -> str:
        return "product" if self.sku is not None else "vendor"


@dataclass(frozen=True, slots=True)
class ScopeSetting:
    """One setting of a store for the SKUs of one vendor (``None``: of none)."""

    vendor: str | None
    setting: str
    value: Any
    source: str


@dataclass(frozen=True, slots=True)
class StoreChange:
    """A store the change adds (with its settings) or removes (with the
    vendors whose SKUs it was master of)."""

    store: str
    added: bool
    settings: tuple[ScopeSetting, ...] = ()
    master_of: tuple[str | None, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    """Every change between two configs' policies."""

    stores: tuple[StoreChange, ...] = ()
    changes: tuple[SettingChange, ...] = ()
    base_missing: bool = False
    """The base revision had no config at all: every store is new."""

    @property
    def empty(self) -> bool:
        return not (self.stores or self.changes)

    @property
    def added(self) -> tuple[StoreChange, ...]:
        return tuple(store for store in self.stores if store.added)

    @property
    def removed(self) -> tuple[StoreChange, ...]:
        return tuple(store for store in self.stores if not store.added)


def diff_policies(
    before: Policy | None,
    after: Policy,
    hub_vendors: Mapping[str, str | None] | None = None,
) -> PolicyDiff:
    """The changes from ``before`` (``None``: no config yet) to ``after``."""
    hub = hub_vendors or {}
    new_stores = set(after.repository.stores)
    if before is None:
        added = [_added(after, store) for store in sorted(new_stores)]
        return PolicyDiff(stores=tuple(added), base_missing=True)

    old_stores = set(before.repository.stores)
    kept = sorted(old_stores & new_stores)
    vendor_wide = list(_vendor_changes(before, after, kept))
    covered = {_covered_key(change) for change in vendor_wide}
    products = [
        change
        for change in _product_changes(before, after, kept, hub)
        if change.vendor != change.vendor_before or _covered_key(change) not in covered
    ]
    stores = [_added(after, store) for store in sorted(new_stores - old_stores)]
    stores += [_removed(before, store) for store in sorted(old_stores - new_stores)]
    return PolicyDiff(stores=tuple(stores), changes=(*vendor_wide, *products))


# --- stores added and removed ------------------------------------------------------


def _added(policy: Policy, store: str) -> StoreChange:
    """The new store's settings for SKUs of no vendor, and each vendor's that
    differ from those."""
    own = policy.resolved_for_vendor(store, None)
    settings = [
        ScopeSetting(None, setting, value, source)
        for setting, value, source in _settings(own)
    ]
    for vendor in sorted(policy.repository.vendors):
        resolved = policy.resolved_for_vendor(store, vendor)
        settings += [
            ScopeSetting(vendor, setting, new_value, source)
            for setting, _, new_value, source in _differences(own, resolved)
        ]
    return StoreChange(store, True, settings=tuple(settings))


def _removed(policy: Policy, store: str) -> StoreChange:
    """The vendors (``None``: SKUs of no vendor) the store was master of."""
    vendors = (None, *sorted(policy.repository.vendors))
    master_of = tuple(
        vendor
        for vendor in vendors
        if policy.resolved_for_vendor(store, vendor).direction.value
        is Direction.CHANNEL_TO_HUB
    )
    return StoreChange(store, False, master_of=master_of)


def _settings(resolved: Resolved) -> Iterator[tuple[str, Any, str]]:
    for setting in SETTINGS:
        decided: Decided[Any] | None = getattr(resolved, setting)
        if decided is not None:
            yield setting, decided.value, decided.source


# --- settings changed --------------------------------------------------------------


def _vendor_changes(
    before: Policy, after: Policy, stores: list[str]
) -> Iterator[SettingChange]:
    old_vendors, new_vendors = (
        set(before.repository.vendors),
        set(after.repository.vendors),
    )
    for store in stores:
        for vendor in (None, *sorted(old_vendors | new_vendors)):
            old = before.resolved_for_vendor(store, vendor)
            new = after.resolved_for_vendor(store, vendor)
            file = _vendor_file(vendor, old_vendors, new_vendors)
            yield from _changes(store, old, new, vendor=vendor, vendor_file=file)


def _vendor_file(
    vendor: str | None, old_vendors: set[str], new_vendors: set[str]
) -> str | None:
    if vendor is None or (vendor in old_vendors) == (vendor in new_vendors):
        return None
    return "added" if vendor in new_vendors else "removed"


def _product_changes(
    before: Policy,
    after: Policy,
    stores: list[str],
    hub: Mapping[str, str | None],
) -> Iterator[SettingChange]:
    """SKUs with an override of their own on either side, or whose vendor
    changes; the others follow their vendor's settings (compared above)."""
    listed = {*before.repository.vendor_of, *after.repository.vendor_of}
    moved = {
        sku for sku in listed if _vendor(before, sku, hub) != _vendor(after, sku, hub)
    }
    for sku in sorted(before.overridden | after.overridden | moved):
        old_vendor, new_vendor = _vendor(before, sku, hub), _vendor(after, sku, hub)
        for store in stores:
            old = before.for_sku(store, sku, hub.get(sku))
            new = after.for_sku(store, sku, hub.get(sku))
            yield from _changes(
                store, old, new, vendor=new_vendor, sku=sku, vendor_before=old_vendor
            )


def _changes(
    store: str, old: Settings, new: Settings, **scope: str | None
) -> Iterator[SettingChange]:
    """One change per setting whose value differs, in ``scope`` (vendor, SKU)."""
    for setting, old_value, new_value, source in _differences(old, new):
        yield SettingChange(store, setting, old_value, new_value, source, **scope)


def _vendor(policy: Policy, sku: str, hub: Mapping[str, str | None]) -> str | None:
    """The SKU's vendor as a pass resolves it: its vendor file's, else its
    hub record's."""
    return policy.vendor_of(sku) or hub.get(sku)


def _covered_key(change: SettingChange) -> tuple[object, ...]:
    """A product's change that its vendor's change already says (same store,
    vendor, setting, values and source) is not said again."""
    return (
        change.store,
        change.vendor,
        change.setting,
        change.before,
        change.after,
        change.source,
    )


def _differences(old: Settings, new: Settings) -> Iterator[tuple[str, Any, Any, str]]:
    for setting in SETTINGS:
        old_decided: Decided[Any] | None = getattr(old, setting)
        new_decided: Decided[Any] | None = getattr(new, setting)
        old_value = None if old_decided is None else old_decided.value
        new_value = None if new_decided is None else new_decided.value
        if old_value != new_value:
            source = "no level sets it" if new_decided is None else new_decided.source
            yield setting, old_value, new_value, source

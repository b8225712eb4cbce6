"""Which effective policies a config change changes: ``reconcile diff``.

Two validated configs (a base revision and the working tree) are compared
setting by setting, where their policies are decided:

- per store and vendor: the settings every SKU of that vendor without an
  override of its own shares (vendor ``None``: SKUs of no vendor). A change
  there changes every such SKU, listed or known only from the hub;
- per product: a SKU with an override of its own in either config, or listed
  under another vendor than before, compared on every store.

Only values are compared: a setting moved to another line with the same value
is no change. Each change names where its new value comes from
(``path:line (level)``), as ``reconcile explain`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from reconciler.policy import Decided, EffectivePolicy, Policy, Resolved

SETTINGS = ("direction", "mode", "interval", "manage_inventory")

Settings = Resolved | EffectivePolicy


@dataclass(frozen=True, slots=True)
class SettingChange:
    """One setting of one scope whose value differs.

    ``before``/``after`` are the values (``None``: no level sets it, the hub
    record decides); ``source`` says where the new value comes from.
    """

    store: str
    setting: str
    before: Any
    after: Any
    source: str
    vendor: str | None = None
    sku: str | None = None
    vendor_before: str | None = None

    @property
    def scope(self) -> str:
        return "product" if self.sku is not None else "vendor"


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    """Every change between two configs' policies, stores first."""

    stores_added: tuple[str, ...] = ()
    stores_removed: tuple[str, ...] = ()
    changes: tuple[SettingChange, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not (self.stores_added or self.stores_removed or self.changes)


def diff_policies(before: Policy, after: Policy) -> PolicyDiff:
    """The changes from ``before`` to ``after``, on the stores both have."""
    old_stores = set(before.repository.stores)
    new_stores = set(after.repository.stores)
    kept = sorted(old_stores & new_stores)

    vendor_wide = list(_vendor_changes(before, after, kept))
    covered = {_covered_key(change) for change in vendor_wide}
    products = [
        change
        for change in _product_changes(before, after, kept)
        if change.vendor != change.vendor_before or _covered_key(change) not in covered
    ]
    changes = [*vendor_wide, *products]
    return PolicyDiff(
        stores_added=tuple(sorted(new_stores - old_stores)),
        stores_removed=tuple(sorted(old_stores - new_stores)),
        changes=tuple(changes),
    )


def _vendor_changes(
    before: Policy, after: Policy, stores: list[str]
) -> Iterator[SettingChange]:
    vendors = sorted({*before.repository.vendors, *after.repository.vendors})
    for store in stores:
        for vendor in (None, *vendors):
            old = before.resolved_for_vendor(store, vendor)
            new = after.resolved_for_vendor(store, vendor)
            for setting, old_value, new_value, source in _differences(old, new):
                yield SettingChange(
                    store, setting, old_value, new_value, source, vendor=vendor
                )


def _product_changes(
    before: Policy, after: Policy, stores: list[str]
) -> Iterator[SettingChange]:
    """SKUs with an override of their own on either side, or moved between
    vendors; the others follow their vendor's settings (compared above)."""
    moved = {
        sku
        for sku in {*before.repository.vendor_of, *after.repository.vendor_of}
        if before.vendor_of(sku) != after.vendor_of(sku)
    }
    for sku in sorted(before.overridden | after.overridden | moved):
        old_vendor, new_vendor = before.vendor_of(sku), after.vendor_of(sku)
        for store in stores:
            old = before.for_sku(store, sku)
            new = after.for_sku(store, sku)
            for setting, old_value, new_value, source in _differences(old, new):
                yield SettingChange(
                    store,
                    setting,
                    old_value,
                    new_value,
                    source,
                    vendor=new_vendor,
                    sku=sku,
                    vendor_before=old_vendor,
                )


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

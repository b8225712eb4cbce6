"""The plan of a reconcile pass as immutable values.

The planner builds a ``Plan`` from policies, hub records and channel
snapshots; the guard adds a ``GuardVerdict`` per store; apply executes the
``Change`` values; the reports render all of it. Field names use the hub's
side of the field mapping (DESIGN.md section 5): ``manage_inventory`` and
``quantity_available``, whatever the channel calls them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from reconciler.channels.base import DesiredChange
from reconciler.config.model import strict_record

MANAGE_INVENTORY = "manage_inventory"
QUANTITY_AVAILABLE = "quantity_available"
IS_IN_STOCK = "is_in_stock"
"""Magento's stock status, derived from the other two (DESIGN.md section 5);
a push corrects it where the store's item says otherwise."""


class Side(enum.StrEnum):
    """The side of a (store, SKU) a change writes to."""

    HUB = "hub"
    CHANNEL = "channel"


class Label(enum.StrEnum):
    """Why a change is in the plan.

    - ``update``: the master changed since the last sync;
    - ``drift``: the non-master side changed since the last sync and is
      overwritten by the master;
    - ``new``: there is no last seen value for this (store, SKU) yet;
    - ``untracked``: one side manages stock and the other does not;
    - ``negative``: a negative hub quantity is pushed (as 0, or as is when
      the store says ``negative_stock: push_as_is``; the note says which).
    """

    UPDATE = "update"
    DRIFT = "drift"
    NEW = "new"
    UNTRACKED = "untracked"
    NEGATIVE = "negative"


class SkipReason(enum.StrEnum):
    """Why a (store, SKU) is reported and left alone."""

    UNKNOWN_TO_HUB = "unknown_to_hub"  # on the store, not in the hub
    NOT_ON_STORE = "not_on_store"  # hub is master, the store lacks the SKU
    AMBIGUOUS = "ambiguous"  # several channel items share the SKU
    NOT_STOCKED = "not_stocked"  # not stocked at the store's location/source
    NOT_WRITABLE = "not_writable"  # the channel will not take a write
    UNMANAGED_QUANTITY = "unmanaged_quantity"  # master is managed, no quantity
    CONFLICT = "conflict"  # two master stores for the SKU
    MASTER_NOT_READ = "master_not_read"  # the SKU's master store was not read
    MASTER_GUARDED = "master_guarded"  # the master store's guard stopped its pulls


class HoldReason(enum.StrEnum):
    """Why a difference is listed but not applied."""

    MANUAL = "manual"  # manual mode, not selected by --sku/--include-manual


FieldValue = bool | int | None


@strict_record()
class FieldChange(NamedTuple):
    """One field of one item: ``before`` on the target side, ``after`` wanted."""

    field: str
    before: FieldValue
    after: FieldValue


@strict_record()
class Change(NamedTuple):
    """One item of one store to change on ``target``.

    ``managed``/``quantity`` are the complete values the target should hold
    (``quantity`` ``None``: leave the quantity alone). ``expected_*`` are the
    channel's values the plan was made from, for compare-and-set on a push
    and as the values a pull takes. ``ref`` is the adapter's item handle.
    """

    store: str
    sku: str
    target: Side
    label: Label
    fields: tuple[FieldChange, ...]
    managed: bool
    quantity: int | None
    ref: str
    expected_managed: bool
    expected_quantity: int | None
    note: str | None = None

    def desired(self) -> DesiredChange:
        """The change as a channel adapter takes it (pushes only)."""
        return DesiredChange(
            sku=self.sku,
            ref=self.ref,
            managed=self.managed,
            quantity=self.quantity,
            expected_managed=self.expected_managed,
            expected_quantity=self.expected_quantity,
        )

    @property
    def zeroes(self) -> bool:
        """Whether the change sets a positive quantity to 0 (or below)."""
        return any(
            f.field == QUANTITY_AVAILABLE
            and isinstance(f.before, int)
            and isinstance(f.after, int)
            and f.before > 0 >= f.after
            for f in self.fields
        )


@dataclass(frozen=True, slots=True)
class Held:
    """A manual-mode difference, listed and not applied."""

    store: str
    sku: str
    target: Side
    reason: HoldReason
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True)
class Conflict:
    """A SKU with two or more master stores at runtime; skipped everywhere."""

    sku: str
    stores: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A (store, SKU) reported and left alone, with the channel's detail."""

    store: str
    sku: str
    reason: SkipReason
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    """The guard's reading of one store's plan.

    ``zeroed``/``changed`` count the store's pulls and pushes; ``managed``
    the store's managed SKUs the shares are taken of. ``tripped`` stops the store's
    apply; ``allowed`` says ``--allow-mass-change`` overrode a trip.
    """

    store: str
    managed: int
    zeroed: int
    changed: int
    max_zeroed: float
    max_changed: float
    tripped: bool
    allowed: bool = False
    message: str | None = None
    zeroed_at: str | None = None
    """Where ``guard.max_zeroed`` is written (``path:line``); None: by default."""
    changed_at: str | None = None
    """Where ``guard.max_changed`` is written; None: by default."""

    @property
    def blocks(self) -> bool:
        return self.tripped and not self.allowed


@dataclass(frozen=True, slots=True)
class StorePlan:
    """One store's part of a plan.

    ``pulls`` write the hub from this store (a master store); ``pushes``
    write this store from the hub. ``direction`` is the store's default
    direction, for the reports' headings.
    """

    store: str
    direction: str
    pulls: tuple[Change, ...] = ()
    pushes: tuple[Change, ...] = ()
    held: tuple[Held, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    managed_count: int = 0
    guard: GuardVerdict | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.pulls or self.pushes)


@dataclass(frozen=True, slots=True)
class Plan:
    """Every store's plan of one pass, and the SKUs in conflict."""

    stores: tuple[StorePlan, ...]
    conflicts: tuple[Conflict, ...]
    created_at: datetime

    @property
    def has_changes(self) -> bool:
        return any(store.has_changes for store in self.stores)

    def store(self, name: str) -> StorePlan | None:
        return next((s for s in self.stores if s.store == name), None)

    def summary(self) -> dict[str, int]:
        """Counts for the closing line of a report."""
        return {
            "stores": len(self.stores),
            "pulls": sum(len(s.pulls) for s in self.stores),
            "pushes": sum(len(s.pushes) for s in self.stores),
            "held": sum(len(s.held) for s in self.stores),
            "skipped": sum(len(s.skipped) for s in self.stores),
            "conflicts": len(self.conflicts),
            "guards_tripped": sum(
                1 for s in self.stores if s.guard is not None and s.guard.blocks
            ),
        }

"""The adapter protocol: what the engine knows of a sales channel.

Items carry the hub's side of the field mapping (DESIGN.md section 5):
``managed`` is the channel's effective stock management (Magento's
``manage_stock`` with ``use_config_manage_stock`` resolved, Shopify's
``tracked``); ``quantity`` is Magento's ``qty`` / source ``quantity`` or
Shopify's ``available`` at the store's location. Wire formats stay inside the
adapters.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class ItemProblem(enum.StrEnum):
    """Why an item on a channel cannot be written."""

    AMBIGUOUS = "ambiguous"  # one SKU on several channel items
    NOT_STOCKED = "not_stocked"  # not stocked at the store's location/source
    NOT_WRITABLE = "not_writable"  # e.g. tracked locked, bundle parent


@dataclass(frozen=True, slots=True)
class ChannelItem:
    """One SKU as the channel holds it.

    ``ref`` is the adapter's own handle (a Shopify inventory item gid, a
    Magento SKU as the channel spells it). ``quantity`` is ``None`` when the
    channel reports none (untracked Shopify item, not stocked at location).
    ``in_stock`` is Magento's stock status; ``None`` on Shopify.
    """

    sku: str
    ref: str
    managed: bool
    quantity: int | None
    in_stock: bool | None = None
    problem: ItemProblem | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    """A store's stock as read in one pass.

    ``items`` is keyed by the match key of the SKU (``match_key``), so that a
    Magento snapshot can be looked up case-insensitively. ``skipped_empty_sku``
    counts channel items with no SKU, which are left alone. ``exact`` indexes
    the items by their SKU as the channel spells it, built with the snapshot
    (at read time), so that a planner asks a casefolding store by the hub's
    spelling first and casefolds only the SKUs that miss. ``managed_fixed``
    says why the adapter cannot change an item's stock management, when it
    cannot (a Magento MSI source), so that a plan skips such a change.
    """

    store: str
    items: Mapping[str, ChannelItem]
    casefold: bool = False
    skipped_empty_sku: int = 0
    managed_fixed: str | None = None
    exact: Mapping[str, ChannelItem] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        exact = (
            {item.sku: item for item in self.items.values()}
            if self.casefold
            else self.items
        )
        object.__setattr__(self, "exact", exact)

    def key(self, sku: str) -> str:
        return match_key(sku, casefold=self.casefold)

    def get(self, sku: str) -> ChannelItem | None:
        return self.items.get(self.key(sku))


def match_key(sku: str, *, casefold: bool) -> str:
    """The key two SKUs are compared by on a channel."""
    trimmed = sku.strip()
    return trimmed.casefold() if casefold else trimmed


@dataclass(frozen=True, slots=True)
class DesiredChange:
    """What one item on a channel should become.

    ``expected_*`` are the values the plan was made from; adapters use them
    for compare-and-set, so a sale between read and write is never
    overwritten. ``quantity`` ``None`` leaves the quantity alone (unmanaged).
    """

    sku: str
    ref: str
    managed: bool
    quantity: int | None
    expected_managed: bool
    expected_quantity: int | None


class Outcome(enum.StrEnum):
    """What happened to one item of a write."""

    APPLIED = "applied"
    STALE = "stale"  # the compare-and-set found another value: re-read
    REFUSED = "refused"  # the channel refused this item; permanent
    DEFERRED = "deferred"  # throttled or unavailable after every retry
    FAILED = "failed"  # the channel said it applied, but reading back disagrees


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """The result of one item of a write, with the channel's own words."""

    sku: str
    outcome: Outcome
    code: str | None = None
    message: str | None = None
    quantity_after: int | None = None


PageSeen = Callable[[int], None]
"""Told, after each page of a read, how many records the read has had so far."""


class RowTally:
    """The records of a read's pages so far, told to ``on_page`` page by page."""

    def __init__(self, on_page: PageSeen | None) -> None:
        self.rows = 0
        self._on_page = on_page

    def page(self, rows: int) -> None:
        self.rows += rows
        if self._on_page is not None:
            self._on_page(self.rows)


class ChannelAdapter(Protocol):
    """A store's channel, as the engine uses it."""

    store: str

    @property
    def max_batch(self) -> int:
        """The channel's largest write batch."""
        ...

    def read(
        self, skus: Collection[str] | None = None, on_page: PageSeen | None = None
    ) -> ChannelSnapshot:
        """Read every item, or only those SKUs; raises a ``ChannelError``.

        ``on_page`` hears the running count of records after every page.
        """
        ...

    def write(self, changes: Sequence[DesiredChange]) -> list[ItemOutcome]:
        """Write changes in the channel's batches; one outcome per change.

        Per-item refusals come back as outcomes; a failure of the whole
        channel after every retry comes back as ``DEFERRED`` outcomes, so the
        caller can journal every item.
        """
        ...

    def close(self) -> None: ...

"""The values the state store holds, and the interface every backend serves.

One interface, two backends (SQLite file by default, PostgreSQL by URL), one
contract test suite over both. Field by field documentation of the tables is
in ``reconciler/hub/state.py``.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class HubRecord:
    """The hub's own stock figure of one SKU.

    ``source`` says where the last change came from: ``import:<file>``,
    ``store:<name>`` (a pull from a master store) or ``feed:<vendor>``.
    """

    sku: str
    vendor: str | None
    manage_inventory: bool
    quantity_available: int
    changed_at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class SeenValue:
    """What a store last showed (read or written) for one SKU: drift's baseline."""

    store: str
    sku: str
    managed: bool
    quantity: int | None
    seen_at: datetime


class RunKind(enum.StrEnum):
    PASS = "pass"
    IMPORT = "import"
    DAEMON = "daemon"


class RunStatus(enum.StrEnum):
    RUNNING = "running"  # started, not finished (a crash leaves it so)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # finished with failed items, tripped guards or errors
    STOPPED = "stopped"  # a stop left planned changes for the next pass


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One change to one field of one item, with its outcome.

    ``store`` is the store written to, or for a pull the master store the
    hub took the value from (``target`` tells which side changed).
    """

    run_id: int
    store: str
    sku: str
    target: str  # "hub" or "channel"
    field: str  # "quantity_available", "manage_inventory" or "is_in_stock"
    before: str | None
    after: str | None
    outcome: str  # an ``Outcome`` value
    message: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    kind: RunKind
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    stores: tuple[str, ...]
    summary: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PullCommit:
    """What a compare-and-set commit of pulls left unwritten, by SKU.

    ``moved``: the hub holds neither the value the pass read nor the one it
    pulled (another pass or an import changed it); nothing of the SKU was
    written. ``already``: the hub holds the pulled value already (another
    pass took it from the same store); no second entry was journaled.
    """

    moved: frozenset[str] = frozenset()
    already: frozenset[str] = frozenset()


class StateStore(Protocol):
    """The engine's persisted state; every method is one transaction."""

    def hub_records(self, skus: Collection[str] | None = None) -> dict[str, HubRecord]:
        """Hub records by SKU: all, or only those SKUs."""
        ...

    def put_hub_records(self, records: Sequence[HubRecord]) -> None:
        """Insert or replace hub records, all or none."""
        ...

    def last_seen(self, store: str) -> dict[str, SeenValue]:
        """The last seen channel values of a store, by SKU."""
        ...

    def record_seen(self, values: Sequence[SeenValue]) -> None:
        """Insert or replace last seen values."""
        ...

    def commit_pulls(
        self,
        records: Sequence[HubRecord],
        seen: Sequence[SeenValue],
        entries: Sequence[JournalEntry],
        *,
        read: Mapping[str, HubRecord | None] | None = None,
    ) -> PullCommit:
        """Hub records taken from master stores, their seen values and
        journal entries, in one transaction (a crash keeps all or none).

        With ``read`` (the hub records the pass planned from, by SKU), a SKU
        whose record changed since is compared and set: see ``PullCommit``.
        """
        ...

    def start_run(self, kind: RunKind, stores: Sequence[str]) -> int: ...

    def journal(self, entries: Sequence[JournalEntry]) -> None: ...

    def finish_run(
        self, run_id: int, status: RunStatus, summary: Mapping[str, Any]
    ) -> None: ...

    def runs(self, limit: int = 20) -> list[RunRecord]: ...

    def run(self, run_id: int) -> RunRecord | None: ...

    def journal_of(self, run_id: int) -> list[JournalEntry]: ...

    def close(self) -> None: ...

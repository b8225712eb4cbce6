"""Which daemon replica works on which store.

PostgreSQL: the state store's lease table (``acquire_lease`` and friends in
``reconciler/hub/state.py``, whose docstring says why a table and not advisory
locks), plus a small ``daemon_replicas`` table of live daemons so that each
replica takes a fair share of the stores instead of the first one taking all.
Leases are sticky: a replica keeps its stores, renewing them every TTL/3,
until it stops (and hands them over at once) or dies (and they expire).

SQLite: one daemon only. A second daemon on the same state file is refused
by an exclusive ``flock`` on ``<state file>.daemon.lock``, which the kernel
drops when the holder dies, so a crash never leaves a stale lock behind. A
manual applying pass takes the same lock for its length
(``reconciler/hub/leases.py``), so the two never write together.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from reconciler.errors import LeaseLost, StateError
from reconciler.hub.leases import daemon_lock_path
from reconciler.hub.state import SqlStateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LeaseRound:
    """The outcome of one round: stores held now, newly acquired, lost (expired
    or taken), handed back (beyond this replica's share), and the holder of
    every leased store (this replica's included)."""

    held: frozenset[str]
    acquired: frozenset[str]
    lost: frozenset[str]
    holders: Mapping[str, str]
    handed_back: frozenset[str] = frozenset()


class LeaseBook(Protocol):
    """The stores a daemon may work on, kept fresh by a round every TTL/3."""

    replica: str
    ttl: float

    def round(self, stores: Sequence[str], running: frozenset[str]) -> LeaseRound:
        """Renew held leases, hand back a surplus, take a fair share of the free
        ones. Stores in ``running`` are never handed back."""
        ...

    def release_all(self) -> None: ...

    def close(self) -> None: ...


def open_leases(state: SqlStateStore, replica: str, ttl: float) -> LeaseBook:
    """The lease book of a state store: PostgreSQL leases, or the SQLite lock."""
    if state.backend == "sqlite":
        return SoleDaemonLock(state.engine.url.database, replica, ttl)
    return TableLeases(state, replica, ttl)


# --- SQLite: one daemon --------------------------------------------------------


class SoleDaemonLock:
    """The only daemon of a SQLite state file holds every store."""

    def __init__(self, database: str | None, replica: str, ttl: float) -> None:
        self.replica = replica
        self.ttl = ttl
        self._file: IO[str] | None = None
        if database and database != ":memory:":
            self._file = _lock_next_to(Path(database), replica)

    def round(self, stores: Sequence[str], running: frozenset[str]) -> LeaseRound:
        held = frozenset(stores)
        return LeaseRound(
            held, frozenset(), frozenset(), dict.fromkeys(stores, self.replica)
        )

    def release_all(self) -> None:
        """Nothing to hand over: the lock goes with ``close``."""

    def close(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _lock_next_to(database: Path, replica: str) -> IO[str]:
    path = daemon_lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise StateError(
            f"the SQLite state {database} is in use by another daemon or an "
            f"applying pass ({owner}); SQLite allows one daemon, use a "
            "PostgreSQL state URL to run replicas"
        ) from None

    handle.seek(0)
    handle.truncate()
    handle.write(f"replica={replica} pid={os.getpid()}\n")
    handle.flush()
    return handle


# --- PostgreSQL: leases with a TTL -------------------------------------------------

METADATA = sa.MetaData()

REPLICAS = sa.Table(
    "daemon_replicas",
    METADATA,
    sa.Column("replica", sa.Text, primary_key=True, comment="replica id"),
    sa.Column("pid", sa.Integer, nullable=False, comment="its process id"),
    sa.Column(
        "expires_at",
        sa.DateTime(timezone=True),
        nullable=False,
        comment="database time after which the replica counts as gone",
    ),
)

_CREATE_LOCK = 0x7265636F6E  # serialises CREATE TABLE IF NOT EXISTS across replicas


class TableLeases:
    """Per-store leases with a TTL, shared fairly between live replicas."""

    def __init__(self, state: SqlStateStore, replica: str, ttl: float) -> None:
        self.replica = replica
        self.ttl = ttl
        self._state = state
        self._held: set[str] = set()
        try:
            with state.engine.begin() as connection:
                connection.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(_CREATE_LOCK))
                )
                METADATA.create_all(connection)
        except sa.exc.SQLAlchemyError as error:
            raise StateError(f"replica table unusable: {_reason(error)}") from error

    def round(self, stores: Sequence[str], running: frozenset[str]) -> LeaseRound:
        before = set(self._held)
        live = self._heartbeat()
        self._renew(set(stores))
        share = math.ceil(len(stores) / max(live, 1))
        handed_back = self._hand_back(share, running)
        self._take_free(stores, share)

        return LeaseRound(
            held=frozenset(self._held),
            acquired=frozenset(self._held - before),
            lost=frozenset(before - self._held - handed_back),
            holders=self._holders(stores),
            handed_back=frozenset(handed_back),
        )

    def _heartbeat(self) -> int:
        """Say this replica is alive; count the live replicas."""
        expires = sa.func.now() + sa.func.make_interval(0, 0, 0, 0, 0, 0, self.ttl)
        insert = postgresql.insert(REPLICAS).values(
            replica=self.replica, pid=os.getpid(), expires_at=expires
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[REPLICAS.c.replica],
            set_={"pid": insert.excluded.pid, "expires_at": insert.excluded.expires_at},
        )
        live = sa.select(sa.func.count()).where(REPLICAS.c.expires_at > sa.func.now())
        try:
            with self._state.engine.begin() as connection:
                connection.execute(upsert)
                return int(connection.execute(live).scalar_one())
        except sa.exc.SQLAlchemyError as error:
            raise StateError(f"replica heartbeat failed: {_reason(error)}") from error

    def _renew(self, stores: set[str]) -> None:
        """Extend every lease this replica holds; the others are lost."""
        for store in sorted(self._held):
            try:
                if store not in stores:
                    raise LeaseLost(f"store {store} left the config")
                self._state.renew_lease(store, self.replica, self.ttl)
            except LeaseLost as lost:
                log.warning(
                    "event=daemon.lease.lost store=%s reason=%r", store, str(lost)
                )
                self._held.discard(store)

    def _hand_back(self, share: int, running: frozenset[str]) -> set[str]:
        """Release stores beyond this replica's share, idle ones only."""
        surplus = len(self._held) - share
        handed = set(sorted(self._held - running)[: max(surplus, 0)])
        for store in sorted(handed):
            self._state.release_lease(store, self.replica)
            self._held.discard(store)
            log.info("event=daemon.lease.handed_back store=%s share=%d", store, share)
        return handed

    def _take_free(self, stores: Sequence[str], share: int) -> None:
        for store in _spread(stores, self.replica):
            if len(self._held) >= share:
                return
            if store not in self._held and self._state.acquire_lease(
                store, self.replica, self.ttl
            ):
                self._held.add(store)

    def _holders(self, stores: Sequence[str]) -> dict[str, str]:
        holders = {store: self._state.lease_holder(store) for store in stores}
        return {store: holder for store, holder in holders.items() if holder}

    def release_all(self) -> None:
        """Hand every store over at once, and leave the live replicas."""
        for store in sorted(self._held):
            self._state.release_lease(store, self.replica)
        self._held.clear()
        try:
            with self._state.engine.begin() as connection:
                connection.execute(
                    sa.delete(REPLICAS).where(REPLICAS.c.replica == self.replica)
                )
        except sa.exc.SQLAlchemyError as error:
            log.error(
                "event=daemon.replica.leave outcome=failed reason=%r", _reason(error)
            )

    def close(self) -> None:
        """The state store is closed by its owner."""


def _spread(stores: Sequence[str], replica: str) -> list[str]:
    """The order this replica tries free stores in: rotated by its id, so that
    replicas starting together reach for different stores first."""
    ordered = sorted(stores)
    if not ordered:
        return ordered
    start = sum(replica.encode()) % len(ordered)
    return ordered[start:] + ordered[:start]


def _reason(error: Exception) -> str:
    """The first line of a database error, without its URL or parameters."""
    return str(getattr(error, "orig", None) or error).splitlines()[0]

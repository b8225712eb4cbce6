"""A manual applying pass and a running daemon never write one store together.

PostgreSQL: the daemon replicas hold one lease row per store (see
``SqlStateStore.acquire_lease``). An applying pass run by hand takes the lease
of each store it selected, as holder ``cli:<host>:<pid>``, for the length of
the pass; a store whose lease another holder has is left out of the pass and
reported as a store failure naming that holder. The leases are released when
the pass ends; one that outlives a crashed pass expires after
``MANUAL_LEASE_TTL`` seconds.

SQLite: one daemon per state file, which holds an exclusive ``flock`` on
``<state file>.daemon.lock`` while it lives. An applying pass takes the same
lock for its length, so it refuses to start while a daemon runs (and a daemon
refuses to start during the pass); the kernel drops the lock when its holder
dies, so nothing stale is left behind.

Dry runs and the daemon's own passes take nothing here.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from reconciler.errors import StateError
from reconciler.hub.records import StateStore
from reconciler.hub.state import SqlStateStore

log = logging.getLogger(__name__)

MANUAL_OWNER = "manual pass"
"""How an applying pass names itself in the SQLite lock file."""

MANUAL_LEASE_TTL = 900.0
"""Seconds a manual pass's lease lives; a pass longer than this loses it."""


def daemon_lock_path(database: Path) -> Path:
    """The lock file a daemon holds next to its SQLite state file."""
    return database.with_name(database.name + ".daemon.lock")


def manual_holder() -> str:
    """The holder name of a pass run by hand: ``cli:<host>:<pid>``."""
    return f"cli:{socket.gethostname()}:{os.getpid()}"


def busy_message(store: str, holder: str) -> str:
    return f"store {store} is being synced by {holder}; try again later"


@dataclass
class PassLeases:
    """What a manual pass holds: store leases, or the SQLite daemon lock.

    ``busy`` maps each store another holder has to that holder.
    """

    holder: str
    state: SqlStateStore | None = None
    held: list[str] = field(default_factory=list)
    busy: Mapping[str, str] = field(default_factory=dict)
    lock: IO[str] | None = None

    def release(self) -> None:
        """Give back every lease and the lock; safe to call twice."""
        if self.state is not None:
            for store in self.held:
                self.state.release_lease(store, self.holder)
        self.held = []
        if self.lock is not None:
            fcntl.flock(self.lock, fcntl.LOCK_UN)
            self.lock.close()
            self.lock = None


def take_pass_leases(
    state: StateStore | None, stores: Sequence[str], holder: str
) -> PassLeases:
    """Take the stores of an applying pass from the daemon's coordination.

    Raises ``StateError`` when a daemon holds a SQLite state file.
    """
    if not isinstance(state, SqlStateStore):
        return PassLeases(holder)
    if state.backend == "sqlite":
        return PassLeases(holder, lock=_sqlite_lock(state, holder))
    return _table_leases(state, stores, holder)


def _table_leases(
    state: SqlStateStore, stores: Sequence[str], holder: str
) -> PassLeases:
    leases = PassLeases(holder, state)
    busy: dict[str, str] = {}
    for store in stores:
        if state.acquire_lease(store, holder, MANUAL_LEASE_TTL):
            leases.held.append(store)
            continue
        busy[store] = state.lease_holder(store) or "another process"
        log.warning(
            "event=pass.lease store=%s outcome=busy holder=%s", store, busy[store]
        )
    leases.busy = busy
    return leases


def _sqlite_lock(state: SqlStateStore, holder: str) -> IO[str] | None:
    database = state.engine.url.database
    if not database or database == ":memory:":
        return None
    path = daemon_lock_path(Path(database))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise StateError(_locked_message(database, owner)) from None

    handle.seek(0)
    handle.truncate()
    handle.write(f"{MANUAL_OWNER} {holder}\n")
    handle.flush()
    return handle


def _locked_message(database: str, owner: str) -> str:
    """Who holds the SQLite state: another applying pass, or a daemon."""
    if owner.startswith(MANUAL_OWNER):
        return (
            f"another applying pass is syncing the stores of the SQLite state "
            f"{database} ({owner}); wait for it to end, or try again later "
            "(a dry run is never refused)"
        )
    return (
        f"a daemon is syncing the stores of the SQLite state {database} "
        f"({owner}); stop it before an applying pass, or try again later "
        "(a dry run is never refused)"
    )

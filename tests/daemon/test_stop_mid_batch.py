"""SIGTERM while a daemon writes a large change: the batch in flight ends and
is journaled, no further batch starts, the leases are handed over, exit 0."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from reconciler.channels.magento import SOURCE_BATCH
from reconciler.hub.records import RunKind, RunStatus
from reconciler.hub.state import open_state
from tests.daemon.conftest import (
    DaemonProcess,
    Emulators,
    seed_hub,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.postgres

CATALOG = {f"BULK-{n:04d}": 1 for n in range(SOURCE_BATCH * 4)}
HUB = dict.fromkeys(CATALOG, 7)
STOP_BOUND = 60.0
"""Seconds from SIGTERM to exit: one batch in flight on a loaded machine."""


def journal_count(state_url: str) -> int:
    with open_state(state_url) as state:
        table = sa.Table("journal", sa.MetaData(), autoload_with=state.engine)
        with state.engine.connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(table))
            return int(count.scalar_one())


def journaled_skus(state_url: str, run_id: int) -> set[str]:
    with open_state(state_url) as state:
        return {entry.sku for entry in state.journal_of(run_id)}


def table_rows(state_url: str, name: str) -> list[tuple[object, ...]]:
    with open_state(state_url) as state:
        table = sa.Table(name, sa.MetaData(), autoload_with=state.engine)
        with state.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.select(table))]


def test_sigterm_mid_batch_journals_the_batch_and_leaves_the_rest(
    tmp_path: Path,
    postgres_state: str,
    emulators_for: Callable[..., Emulators],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    served = emulators_for(["outlet"], CATALOG)
    config = write_config(
        tmp_path / "config",
        {"outlet": (served.url("outlet"), "hub_to_channel")},
        skus=CATALOG,
    )
    seed_hub(postgres_state, HUB)
    daemon = start_daemon(config, postgres_state, "--replica-id", "solo")

    # The first batch is journaled: the second one is in flight.
    wait_for(lambda: journal_count(postgres_state) >= 1, 180, "a journaled batch")
    daemon.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    code = daemon.process.wait(timeout=STOP_BOUND + 30)
    stopping = time.monotonic() - signalled

    (run,) = open_state(postgres_state).runs()
    assert run.id is not None
    written = {sku for sku, qty in served.stock("outlet").items() if qty == 7}
    journaled = journaled_skus(postgres_state, run.id)
    assert (code, stopping <= STOP_BOUND) == (0, True)
    assert (run.kind, run.status) == (RunKind.DAEMON, RunStatus.STOPPED)
    assert len(journaled) % SOURCE_BATCH == 0
    assert SOURCE_BATCH <= len(journaled) < len(CATALOG)
    assert run.summary["left_for_next_pass"] == len(CATALOG) - len(journaled)
    assert written == journaled
    assert "event=apply.stopped store=outlet" in daemon.text()
    assert "event=daemon.pass store=outlet" in daemon.text()
    assert "outcome=stopped" in daemon.text()
    assert table_rows(postgres_state, "leases") == []
    assert table_rows(postgres_state, "daemon_replicas") == []

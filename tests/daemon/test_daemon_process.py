"""A real daemon against emulators served on loopback, SQLite state."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.daemon.conftest import (
    TOKEN,
    DaemonProcess,
    Emulators,
    http_get,
    seed_hub,
    wait_for,
    write_config,
    write_store,
)


def test_daemon_converges_reloads_reports_and_stops_cleanly(
    tmp_path: Path,
    emulators_for: Callable[[list[str]], Emulators],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    served = emulators_for(["master", "outlet"])
    config = write_config(
        tmp_path / "config",
        {
            "master": (served.url("master"), "channel_to_hub"),
            "outlet": (served.url("outlet"), "hub_to_channel"),
        },
    )
    state = tmp_path / "state.db"
    seed_hub(f"sqlite:///{state}")
    daemon = start_daemon(config, f"sqlite:///{state}", "--metrics-port", "0")
    base = f"http://127.0.0.1:{daemon.port()}"

    # A changed master channel reaches the other store within an interval.
    served.set_quantity("master", "MH02-S-Red", 7)
    wait_for(lambda: served.stock("outlet")["MH02-S-Red"] == 7, 60, "outlet to take 7")
    # The outlet's pass reads its master too, so the pull and the push may
    # land in one pass (changes=2) or in the master's and the outlet's own.
    changed = re.compile(r"\bchanges=[12]\b")
    wait_for(
        lambda: bool(changed.search(daemon.text())), 30, "the pass that changed it"
    )

    # Health, readiness, status and metrics over HTTP.
    assert http_get(base + "/healthz") == (200, "ok\n")
    assert http_get(base + "/readyz") == (200, "ready\n")
    status = json.loads(http_get(base + "/status")[1])
    assert {s["store"]: s["status"] for s in status["stores"]} == {
        "master": "synced",
        "outlet": "synced",
    }
    applied = 'reconciler_changes_total{outcome="applied",store="outlet"} 1.0'
    wait_for(lambda: applied in http_get(base + "/metrics")[1], 30, "the change metric")
    metrics = http_get(base + "/metrics")[1]
    assert 'reconciler_passes_total{outcome="succeeded",store="outlet"}' in metrics
    assert "reconciler_lease_holder{replica=" in metrics

    # An invalid edit is refused, logged with its place, and the old config
    # keeps syncing.
    (config / "stores" / "outlet.yaml").write_text(
        (config / "stores" / "outlet.yaml")
        .read_text()
        .replace("hub_to_channel", "sideways")
    )
    wait_for(lambda: "outcome=refused" in daemon.text(), 60, "the refused config")
    assert "stores/outlet.yaml:" in daemon.text()
    code, reason = http_get(base + "/readyz")
    assert code == 503
    assert "config refused (1 problem); running the last good config" in reason
    served.set_quantity("master", "MH02-S-Red", 5)
    wait_for(lambda: served.stock("outlet")["MH02-S-Red"] == 5, 60, "outlet to take 5")

    # A valid edit takes effect: the outlet is suspended.
    write_store(
        config, "outlet", served.url("outlet"), "hub_to_channel", suspended=True
    )

    def outlet_suspended() -> bool:
        doc = json.loads(http_get(base + "/status")[1])
        statuses = {s["store"]: s["status"] for s in doc["stores"]}
        return bool(statuses["outlet"] == "suspended")

    wait_for(outlet_suspended, 60, "the outlet to be suspended")
    assert http_get(base + "/readyz")[0] == 200
    assert "event=daemon.suspended store=outlet file=stores/outlet.yaml:14" in (
        daemon.text()
    )

    # SIGTERM: exit 0, every run finished and journaled.
    assert daemon.terminate() == 0
    with sqlite3.connect(state) as db:
        statuses = {row[0] for row in db.execute("SELECT status FROM runs")}
        journaled = db.execute(
            "SELECT store, sku, target, after, outcome FROM journal "
            "WHERE store = 'outlet' ORDER BY id"
        ).fetchall()
    assert statuses == {"succeeded"}
    assert ("outlet", "MH02-S-Red", "channel", "7", "applied") in journaled
    assert ("outlet", "MH02-S-Red", "channel", "5", "applied") in journaled
    assert "event=daemon.stop outcome=stopped" in daemon.text()
    assert TOKEN not in daemon.text()


def test_a_second_daemon_on_one_sqlite_state_is_refused(
    tmp_path: Path,
    emulators_for: Callable[[list[str]], Emulators],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    served = emulators_for(["master"])
    config = write_config(
        tmp_path / "config", {"master": (served.url("master"), "channel_to_hub")}
    )
    state = f"sqlite:///{tmp_path / 'state.db'}"
    first = start_daemon(config, state, "--metrics-port", "0", name="first")
    first.port()

    second = start_daemon(config, state, name="second")

    assert second.process.wait(timeout=60) == 1
    assert "is in use by another daemon or an applying pass" in second.text()
    assert first.terminate() == 0


def test_once_passes_every_store_and_exits(
    tmp_path: Path,
    emulators_for: Callable[[list[str]], Emulators],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    served = emulators_for(["master", "outlet"])
    served.set_quantity("master", "MH01-XS-Gray", 3)
    config = write_config(
        tmp_path / "config",
        {
            "master": (served.url("master"), "channel_to_hub"),
            "outlet": (served.url("outlet"), "hub_to_channel"),
        },
    )

    seed_hub(f"sqlite:///{tmp_path / 'state.db'}")
    daemon = start_daemon(config, f"sqlite:///{tmp_path / 'state.db'}", "--once")

    assert daemon.process.wait(timeout=120) == 0
    assert daemon.text().count("event=daemon.pass ") == 2


def test_a_first_config_refused_says_nothing_runs_and_exits_1(
    tmp_path: Path, start_daemon: Callable[..., DaemonProcess]
) -> None:
    config = write_config(
        tmp_path / "config", {"outlet": ("sandbox://outlet", "sideways")}
    )

    daemon = start_daemon(config, f"sqlite:///{tmp_path / 'state.db'}", "--once")

    assert daemon.process.wait(timeout=60) == 1
    text = daemon.text()
    assert "event=daemon.config outcome=refused problems=1 keeping=none" in text
    assert "stores/outlet.yaml:" in text
    assert "event=daemon.start outcome=config_invalid" in text

"""``reconcile status`` without a daemon: every store's status from the
state store's recent runs, and ``suspended`` from the config."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.hub.records import RunKind, RunStatus
from reconciler.hub.state import open_state
from tests.daemon.conftest import write_config, write_store

STORES = ("calm", "broken", "paused", "fresh", "busy")


def state_with_runs(url: str) -> dict[str, int]:
    """calm: failed, then succeeded; broken: failed; busy: still running."""
    with open_state(url) as state:
        old = state.start_run(RunKind.DAEMON, ["calm"])
        state.finish_run(old, RunStatus.FAILED, {"error": "read: timed out"})
        calm = state.start_run(RunKind.DAEMON, ["calm"])
        state.finish_run(calm, RunStatus.SUCCEEDED, {"changes": 2})
        broken = state.start_run(RunKind.PASS, ["broken"])
        state.finish_run(broken, RunStatus.FAILED, {"error": "write: Magento 503"})
        busy = state.start_run(RunKind.DAEMON, ["busy"])
        (finished,) = [r for r in state.runs() if r.id == calm]
    assert finished.finished_at is not None
    return {"calm": calm, "broken": broken, "busy": busy}


def config_of(root: Path) -> Path:
    config = write_config(
        root, dict.fromkeys(STORES, ("http://127.0.0.1:9/x", "hub_to_channel"))
    )
    write_store(config, "paused", "http://127.0.0.1:9/x", "none", suspended=True)
    return config


def status_json(config: Path, url: str) -> dict[str, object]:
    args = ["status", "--config", str(config), "--state", url, "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    loaded: dict[str, object] = json.loads(result.output)
    return loaded


def test_status_from_the_state_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    runs = state_with_runs(url)
    config = config_of(tmp_path / "config")

    doc = status_json(config, url)

    entries = doc["stores"]
    assert isinstance(entries, list)
    stores = {entry["store"]: entry for entry in entries}
    assert (doc["replica"], doc["config"]) == (
        None,
        {"generation": None, "refused": []},
    )
    assert {
        name: (e["status"], e["last_run"], e["last_error"])
        for name, e in stores.items()
    } == {
        "calm": ("synced", runs["calm"], None),
        "broken": ("degraded", runs["broken"], "write: Magento 503"),
        "paused": ("suspended", None, None),
        "fresh": ("out_of_sync", None, None),
        "busy": ("out_of_sync", runs["busy"], None),
    }
    assert stores["calm"]["last_success_at"] is not None
    assert stores["broken"]["last_success_at"] is None
    assert {e["interval"] for e in stores.values()} == {1.0}


def test_status_as_text_names_each_store_and_its_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    state_with_runs(url)
    config = config_of(tmp_path / "config")

    result = CliRunner().invoke(
        main, ["status", "--config", str(config), "--state", url]
    )

    lines = result.output.splitlines()
    assert result.exit_code == 0
    assert re.split(r"\s{2,}", lines[0]) == [
        "STORE",
        "STATUS",
        "LAST PASS",
        "NEXT DUE",
        "HELD BY",
        "LAST ERROR",
    ]
    rows = {line.split()[0]: line.split()[1] for line in lines[1:]}
    broken = next(line for line in lines if line.startswith("broken "))
    assert rows == {
        "calm": "synced",
        "broken": "degraded",
        "paused": "suspended",
        "fresh": "out_of_sync",
        "busy": "out_of_sync",
    }
    assert broken.endswith("write: Magento 503")


def test_status_of_an_unreachable_state_names_the_problem(tmp_path: Path) -> None:
    config = config_of(tmp_path / "config")

    result = CliRunner().invoke(
        main, ["status", "--config", str(config), "--state", "mysql://127.0.0.1/x"]
    )

    assert result.exit_code == 1
    assert "unsupported database 'mysql'" in result.output


def test_status_from_postgresql_names_each_lease_holder(
    tmp_path: Path, postgres_state: str
) -> None:
    state_with_runs(postgres_state)
    with open_state(postgres_state) as state:
        assert state.acquire_lease("busy", "replica-b", 60.0)
    config = config_of(tmp_path / "config")

    doc = status_json(config, postgres_state)

    entries = doc["stores"]
    assert isinstance(entries, list)
    assert {entry["store"]: entry["held_by"] for entry in entries} == {
        "calm": None,
        "broken": None,
        "paused": None,
        "fresh": None,
        "busy": "replica-b",
    }

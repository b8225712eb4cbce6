"""The daemon's log lines: the user's config path (not the private snapshot
folder), JSON values typed alike however they were logged, and the metrics
address on stderr at start."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.daemon import logs
from tests.daemon.conftest import DaemonProcess, Emulators, write_config

SNAPSHOTS = Path("/tmp/reconciler-daemon-abc123")
USER_CONFIG = Path("/home/ops/stock config")


@pytest.fixture
def handler() -> Iterator[logging.Handler]:
    """A handler on the root logger, as ``logs.configure`` installs one."""
    handler = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def render(handler: logging.Handler, message: str, *args: object) -> str:
    record = logging.LogRecord(
        "reconciler.config.loader", logging.INFO, __file__, 1, message, args, None
    )
    record.reconciler_bound = {"generation": 3}
    return handler.format(record)


def test_json_lines_type_text_values_and_show_the_users_config(
    handler: logging.Handler,
) -> None:
    handler.setFormatter(logs.JsonFormatter(()))
    logs.show_config_path(SNAPSHOTS, USER_CONFIG)

    line = render(
        handler,
        "event=config.loaded root=%s stores=%d ratio=%s full=%s sku=%s",
        SNAPSHOTS / "generation-3",
        2,
        "0.25",
        "True",
        "0042",
    )

    entry = json.loads(line)
    del entry["time"]
    assert entry == {
        "level": "INFO",
        "logger": "reconciler.config.loader",
        "event": "config.loaded",
        "root": str(USER_CONFIG),
        "stores": 2,
        "ratio": 0.25,
        "full": True,
        "sku": "0042",
        "generation": 3,
    }


def test_plain_lines_show_the_users_config_and_the_generation_apart(
    handler: logging.Handler,
) -> None:
    handler.setFormatter(logs.PlainFormatter(()))
    logs.show_config_path(SNAPSHOTS, USER_CONFIG)

    line = render(
        handler, "event=config.loaded root=%s stores=%d", SNAPSHOTS / "generation-3", 2
    )

    assert line.split(" ", 2)[1:] == [
        "INFO",
        f"event=config.loaded root={USER_CONFIG} stores=2 generation=3",
    ]


def test_the_daemon_prints_its_metrics_address_and_logs_the_users_path(
    tmp_path: Path,
    emulators_for: Callable[[list[str]], Emulators],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    served = emulators_for(["outlet"])
    config = write_config(
        tmp_path / "config", {"outlet": (served.url("outlet"), "hub_to_channel")}
    )
    state = f"sqlite:///{tmp_path / 'state.db'}"

    daemon = start_daemon(
        config, state, "--once", "--metrics-port", "0", "--log-format", "json"
    )

    assert daemon.process.wait(timeout=60) == 0
    lines = daemon.text().splitlines()
    printed = [line for line in lines if line.startswith("metrics on ")]
    events = [json.loads(line) for line in lines if line.startswith("{")]
    (http,) = [e for e in events if e.get("event") == "daemon.http"]
    assert printed == [f"metrics on http://127.0.0.1:{http['port']}"]
    assert isinstance(http["port"], int) and http["port"] > 0
    loaded = [e for e in events if e.get("event") == "config.loaded"]
    assert loaded and {(e["root"], e["generation"]) for e in loaded} == {
        (str(config), 1)
    }
    assert all(isinstance(e["stores"], int) for e in loaded)
    assert not any(re.search(r"reconciler-daemon-", line) for line in lines)

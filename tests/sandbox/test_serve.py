"""``reconcile sandbox serve`` as a real process, used by the real adapters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.channels.base import ChannelAdapter, DesiredChange, ItemOutcome, Outcome
from reconciler.channels.factory import open_adapter
from reconciler.config.model import (
    MagentoChannel,
    Mark,
    ShopifyChannel,
    StoreConfig,
    SyncOverride,
)
from reconciler.sandbox.magento import MagentoEmulator
from reconciler.sandbox.server import SandboxServer, serve_in_thread

PROJECT = Path(__file__).resolve().parent.parent.parent
SEEDS = PROJECT / "config" / "fixtures"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str], Path]]:
    state_dir = tmp_path / "served"
    command = [
        sys.executable,
        "-m",
        "reconciler",
        "sandbox",
        "serve",
        "--port",
        "0",
        "--store",
        f"us=shopify:{SEEDS / 'shopify-us-products.csv'}",
        "--store",
        f"eu=magento:{SEEDS / 'magento-eu-catalog.csv'}",
        "--state-dir",
        str(state_dir),
    ]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    yield port, process, state_dir
    if process.poll() is None:
        process.kill()
        process.wait()


def store(name: str, channel: MagentoChannel | ShopifyChannel) -> StoreConfig:
    return StoreConfig(name, Mark(f"stores/{name}.yaml", 1, 1), channel, SyncOverride())


def adapter(port: int, name: str) -> ChannelAdapter:
    endpoint = f"http://127.0.0.1:{port}/{name}"
    channel: MagentoChannel | ShopifyChannel
    if name == "eu":
        channel = MagentoChannel(endpoint, "all", None, token_env=None)
    else:
        channel = ShopifyChannel(endpoint, "2025-01", "Main warehouse", token_env=None)
    return open_adapter(store(name, channel), config_root=PROJECT, env={})


def control(port: int, method: str, path: str, body: Any = None) -> Any:
    url = f"http://127.0.0.1:{port}/_control/{path}"
    return httpx.request(method, url, json=body, timeout=5).json()


def test_serve_answers_both_channels_over_loopback(
    served: tuple[int, subprocess.Popen[str], Path],
) -> None:
    port, process, state_dir = served
    magento, shopify = adapter(port, "eu"), adapter(port, "us")

    eu_item = magento.read(["MH01-XS-Black"]).get("mh01-xs-black")
    us_item = shopify.read(["MH01-XS-Black"]).get("MH01-XS-Black")
    assert eu_item is not None and us_item is not None
    control(port, "POST", "eu/reset-log")
    control(port, "POST", "eu/faults", {"server_errors": 1})
    eu_outcomes = magento.write(
        [DesiredChange(eu_item.sku, eu_item.ref, True, 7, True, eu_item.quantity)]
    )
    us_outcomes = shopify.write(
        [DesiredChange(us_item.sku, us_item.ref, True, 9, True, us_item.quantity)]
    )
    log = control(port, "GET", "eu/requests")
    stock = control(port, "GET", "eu/stock")
    us_stock = control(port, "GET", "us/stock")
    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=10) == 0
    assert eu_outcomes == [ItemOutcome(eu_item.sku, Outcome.APPLIED, quantity_after=7)]
    assert [o.outcome for o in us_outcomes] == [Outcome.APPLIED]
    assert [(r["method"], r["path"]) for r in log] == [
        ("PUT", "/rest/all/V1/products/MH01-XS-Black/stockItems/1"),
        ("PUT", "/rest/all/V1/products/MH01-XS-Black/stockItems/1"),
        ("GET", "/rest/all/V1/products"),
    ]
    assert stock["MH01-XS-Black"] == 7
    assert us_stock["MH01-XS-Black"] == 9
    saved = MagentoEmulator.load("eu", state_dir / "eu")
    assert saved.quantity("MH01-XS-Black") == 7
    assert sorted(p.name for p in state_dir.iterdir()) == ["eu", "us"]


def test_served_state_survives_a_restart(tmp_path: Path) -> None:
    emulator = MagentoEmulator("eu")
    emulator.add_product("A-1", 5)

    with serve_in_thread({"eu": emulator}, state_dir=tmp_path) as server:
        client = adapter(server.port, "eu")
        client.write([DesiredChange("A-1", "A-1", True, 1, True, 5)])

    assert MagentoEmulator.load("eu", tmp_path / "eu").quantity("A-1") == 1


def test_a_dropped_connection_is_retried_over_http() -> None:
    emulator = MagentoEmulator("eu")
    emulator.add_product("A-1", 5)
    emulator.faults.dropped = 1

    with serve_in_thread({"eu": emulator}) as server:
        snapshot = adapter(server.port, "eu").read()

    assert [r.method for r in emulator.requests] == ["GET", "GET"]
    assert len(snapshot.items) == 1


def test_bad_fault_fields_change_nothing() -> None:
    emulator = MagentoEmulator("eu")

    with serve_in_thread({"eu": emulator}) as server:
        url = f"http://127.0.0.1:{server.port}/_control/eu/faults"
        response = httpx.post(url, json={"dropped": 2, "meteor": 1}, timeout=5)

    assert response.status_code == 400
    assert response.json() == {
        "message": "bad control request: unknown fault fields ['meteor']"
    }
    assert emulator.faults.dropped == 0


def test_only_loopback_is_served() -> None:
    with pytest.raises(ValueError, match=r"serves on 127\.0\.0\.1 only"):
        SandboxServer({}, host="0.0.0.0")


def test_the_cli_refuses_another_bind_address(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reconciler",
            "sandbox",
            "serve",
            "--host",
            "0.0.0.0",
            "--store",
            f"eu=magento:{SEEDS / 'magento-eu-catalog.csv'}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )

    assert result.returncode == 1  # a usage error: 2 means only "changes pending"
    assert "serves on 127.0.0.1 only" in result.stderr
    assert list(tmp_path.iterdir()) == []
    assert json.dumps(result.stdout) == '""'

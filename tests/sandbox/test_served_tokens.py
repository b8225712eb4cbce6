"""``sandbox serve --token-env``: the served stores check the token as their
channels do; and every logged request carries the status it was answered."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.channels.base import ChannelAdapter
from reconciler.channels.factory import open_adapter
from reconciler.config.model import MagentoChannel, ShopifyChannel
from reconciler.errors import ChannelError
from reconciler.sandbox.base import transport_for
from reconciler.sandbox.magento import MagentoEmulator
from tests.sandbox.test_serve import PROJECT, SEEDS, control, store

TOKEN = "served-token-5c1e"
VAR = "SERVED_TEST_TOKEN"


def serve(tmp_path: Path, *extra: str) -> Iterator[tuple[int, str]]:
    command = [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0"]
    command += ["--store", f"us=shopify:{SEEDS / 'shopify-us-products.csv'}"]
    command += ["--store", f"eu=magento:{SEEDS / 'magento-eu-catalog.csv'}"]
    command += ["--state-dir", str(tmp_path / "served"), *extra]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, VAR: TOKEN},
    )
    assert process.stdout is not None and process.stderr is not None
    port = int(process.stdout.readline())
    announced = process.stderr.readline().strip()
    yield port, announced
    process.kill()
    process.wait()


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[int, str]]:
    yield from serve(tmp_path, "--token-env", VAR)


@pytest.fixture
def open_served(tmp_path: Path) -> Iterator[tuple[int, str]]:
    yield from serve(tmp_path)


def adapter(port: int, name: str, token: str | None) -> ChannelAdapter:
    endpoint = f"http://127.0.0.1:{port}/{name}"
    channel: MagentoChannel | ShopifyChannel
    if name == "eu":
        channel = MagentoChannel(endpoint, "all", None, token_env="T")
    else:
        channel = ShopifyChannel(endpoint, "2025-01", "Main warehouse", token_env="T")
    env = {"T": token} if token else {}
    return open_adapter(store(name, channel), config_root=PROJECT, env=env)


@pytest.mark.parametrize("name", ["eu", "us"], ids=["magento", "shopify"])
def test_a_guarded_store_refuses_a_wrong_token_and_serves_the_right_one(
    guarded: tuple[int, str], name: str
) -> None:
    port, announced = guarded

    wrong, right = adapter(port, name, "wrong-token"), adapter(port, name, TOKEN)
    try:
        with pytest.raises(ChannelError):
            wrong.read(None)
        snapshot = right.read(None)
    finally:
        wrong.close()
        right.close()

    statuses = [r["status"] for r in control(port, "GET", f"{name}/requests")]
    assert announced == f"sandbox: requests need the token of ${VAR}"
    assert snapshot.items
    assert statuses[0] == 401
    assert set(statuses[1:]) == {200}
    assert TOKEN not in announced


def test_an_open_store_accepts_any_request_and_says_so(
    open_served: tuple[int, str],
) -> None:
    port, announced = open_served

    response = httpx.get(f"http://127.0.0.1:{port}/eu/rest/all/V1/products")

    assert announced == (
        "sandbox: no token required: every request is accepted "
        "(--token or --token-env to check one)"
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("fault", "statuses"),
    [("server_errors", [503, 200]), ("dropped", [None, 200])],
    ids=["server-error", "dropped"],
)
def test_each_logged_request_carries_its_status(
    fault: str, statuses: list[int | None]
) -> None:
    emulator = MagentoEmulator("eu")
    setattr(emulator.faults, fault, 1)
    client = httpx.Client(
        base_url="http://eu.sandbox.invalid", transport=transport_for(emulator)
    )

    with client:
        for _ in range(2):
            with contextlib.suppress(httpx.TransportError):
                client.get("/rest/all/V1/products")

    assert [r.status for r in emulator.requests] == statuses

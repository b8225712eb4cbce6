"""A served timeout fault is a server that does not answer, not a hang-up.

The first tests hold a connection in a server thread of this process; the
last ones run the real adapters, configured from store files with a
one-second ``channel.timeout``, against ``reconcile sandbox serve``. Backoff
waits go to a fake clock, so only the client's socket timeouts cost time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.channels.base import ChannelAdapter
from reconciler.channels.factory import open_adapter
from reconciler.clock import Backoff, FakeClock
from reconciler.config import load_repository
from reconciler.errors import ChannelUnavailable
from reconciler.sandbox.magento import MagentoEmulator
from reconciler.sandbox.server import serve_in_thread
from tests.apply.served import ServedStore, ServedWorld, served_world

SERVER_LOG = "reconciler.sandbox.server"
NOTICE_SECONDS = 5.0
"""How long a test waits for the server to notice a client that gave up."""
TIMEOUT = "1s"
CLIENT_TIMEOUT = 1.0
"""The served stores' ``channel.timeout``, as written and in seconds."""
ATTEMPT_CEILING = 2.0
"""Longest a timed-out attempt may take: its timeout plus slack for a busy
machine, and far below the server's 120 s cap."""

SHOPIFY = "shop-us"
MAGENTO = "mage-eu"


def emulator_timing_out() -> MagentoEmulator:
    emulator = MagentoEmulator("eu")
    emulator.add_product("A-1", 5)
    emulator.faults.timeouts = 1
    return emulator


def products_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/eu/rest/all/V1/products"


def hold_endings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage().split(" ended=")[1].split()[0]
        for record in caplog.records
        if record.name == SERVER_LOG and "event=sandbox.timeout" in record.msg
    ]


def wait_for_hold_endings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The holds the server ended, once it has ended one (or the wait is up)."""
    deadline = time.monotonic() + NOTICE_SECONDS
    while not hold_endings(caplog) and time.monotonic() < deadline:
        time.sleep(0.01)
    return hold_endings(caplog)


def test_a_held_request_ends_when_the_client_times_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=SERVER_LOG)
    emulator = emulator_timing_out()

    with serve_in_thread({"eu": emulator}) as server:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(products_url(server.port), timeout=0.3)
        endings = wait_for_hold_endings(caplog)

    assert endings == ["client_closed"]
    assert [(r.method, r.path, r.status) for r in emulator.requests] == [
        ("GET", "/rest/all/V1/products", None)
    ]


def test_the_cap_ends_a_hold_the_client_outwaits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=SERVER_LOG)

    emulator = emulator_timing_out()

    with (
        serve_in_thread({"eu": emulator}, hold_seconds=0.2) as server,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        httpx.get(products_url(server.port), timeout=10)

    assert hold_endings(caplog) == ["cap"]


def test_a_shutdown_ends_a_held_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SERVER_LOG)
    emulator = emulator_timing_out()
    failures: list[BaseException] = []

    def get(url: str) -> None:
        try:
            httpx.get(url, timeout=10)
        except httpx.HTTPError as error:
            failures.append(error)

    with serve_in_thread({"eu": emulator}) as server:
        client = threading.Thread(target=get, args=(products_url(server.port),))
        client.start()
        deadline = time.monotonic() + NOTICE_SECONDS
        while not emulator.requests and time.monotonic() < deadline:
            time.sleep(0.01)
    client.join()

    assert [type(failure) for failure in failures] == [httpx.RemoteProtocolError]
    assert hold_endings(caplog) == ["shutdown"]


# --- the adapters against reconcile sandbox serve ------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedWorld]:
    """One Shopify and one Magento store, each with a one-second timeout."""
    stores = [
        ServedStore(SHOPIFY, "shopify", "hub_to_channel", {"A-1": 3}, timeout=TIMEOUT),
        ServedStore(MAGENTO, "magento", "channel_to_hub", {"A-1": 4}, timeout=TIMEOUT),
    ]
    with served_world(tmp_path_factory.mktemp("served"), stores) as served:
        yield served


def adapter_of(world: ServedWorld, store: str, clock: FakeClock) -> ChannelAdapter:
    """The store's adapter as a pass opens it: from its file, through the factory."""
    config = world.root / "config"
    repository = load_repository(config)
    return open_adapter(
        repository.stores[store], config_root=config, env=world.env, clock=clock
    )


def without_status(request: dict[str, Any]) -> dict[str, Any]:
    return {**request, "status": None}


@pytest.mark.parametrize("store", [SHOPIFY, MAGENTO])
def test_a_timed_out_read_is_retried_and_succeeds(
    world: ServedWorld, store: str
) -> None:
    clock = FakeClock()
    adapter = adapter_of(world, store, clock)
    world.reset_logs()
    world.faults(store, timeouts=1)

    snapshot = adapter.read()
    adapter.close()

    log = world.control("GET", store, "requests")
    assert [item.quantity for item in snapshot.items.values()] == [
        world.stores[store].stock["A-1"]
    ]
    assert clock.waits == [Backoff().delays[0]]
    assert [request["status"] for request in log] == [None] + [200] * (len(log) - 1)
    assert without_status(log[0]) == without_status(log[1])


def test_a_read_timing_out_on_every_attempt_is_unavailable(
    world: ServedWorld,
) -> None:
    clock = FakeClock()
    adapter = adapter_of(world, SHOPIFY, clock)
    attempts = Backoff().attempts
    world.reset_logs()
    world.faults(SHOPIFY, timeouts=attempts)

    started = time.monotonic()
    with pytest.raises(ChannelUnavailable) as raised:
        adapter.read()
    elapsed = time.monotonic() - started
    adapter.close()

    log = world.control("GET", SHOPIFY, "requests")
    assert str(raised.value) == (
        f"store {SHOPIFY}: locations timed out after 1 s (gave up after 6 attempts)"
    )
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)
    assert clock.waits == list(Backoff().delays)
    assert [request["status"] for request in log] == [None] * attempts
    assert all(without_status(request) == without_status(log[0]) for request in log)
    assert CLIENT_TIMEOUT * attempts <= elapsed < ATTEMPT_CEILING * attempts

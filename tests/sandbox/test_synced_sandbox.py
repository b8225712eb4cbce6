"""Embedded sandboxes shared by several processes: nothing one saves is lost.

``SyncedSandbox`` stands for a pass's in-process transport; the sales here are
made as ``reconcile sandbox sell`` makes them from another process: load the
saved state under the store's lock, change it, save it.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.sandbox.magento import MagentoEmulator
from reconciler.sandbox.registry import (
    open_emulator,
    persisting_transport,
    sandbox_lock,
)

STORE = "magento-eu"


def other_process_sells(directory: Path, sku: str, quantity: int) -> None:
    with sandbox_lock(directory):
        shop = MagentoEmulator.load(STORE, directory)
        shop.set_quantity(sku, quantity)
        shop.save(directory)


def client_of(emulator: MagentoEmulator, directory: Path) -> httpx.Client:
    return httpx.Client(
        base_url="http://magento-eu.sandbox.invalid",
        transport=persisting_transport(emulator, directory),
    )


def quantity(client: httpx.Client, sku: str) -> float:
    response = client.get(f"/rest/all/V1/stockItems/{sku}")
    assert response.status_code == 200, response.text
    return float(response.json()["qty"])


def put_quantity(client: httpx.Client, sku: str, qty: int) -> None:
    body = {
        "stockItem": {
            "use_config_manage_stock": False,
            "manage_stock": True,
            "qty": qty,
            "is_in_stock": qty > 0,
        }
    }
    response = client.put(f"/rest/all/V1/products/{sku}/stockItems/1", json=body)
    assert response.status_code == 200, response.text


def seeded() -> MagentoEmulator:
    shop = MagentoEmulator(STORE)
    shop.add_product("A-1", 5)
    shop.add_product("B-2", 5)
    return shop


def test_a_sale_saved_by_another_process_is_seen_and_kept(tmp_path: Path) -> None:
    directory = tmp_path / "sandbox" / STORE
    seeded().save(directory)
    client = client_of(MagentoEmulator.load(STORE, directory), directory)
    assert quantity(client, "A-1") == 5

    other_process_sells(directory, "A-1", 3)
    seen = quantity(client, "A-1")
    put_quantity(client, "B-2", 9)

    assert seen == 3
    assert MagentoEmulator.load(STORE, directory).stock() == {"A-1": 3, "B-2": 9}


def test_a_request_log_and_faults_survive_a_reload(tmp_path: Path) -> None:
    directory = tmp_path / "sandbox" / STORE
    seeded().save(directory)
    shop = MagentoEmulator.load(STORE, directory)
    client = client_of(shop, directory)
    quantity(client, "A-1")
    shop.faults.server_errors = 1

    other_process_sells(directory, "A-1", 3)
    faulted = client.get("/rest/all/V1/stockItems/A-1")

    assert faulted.status_code == 503
    assert [(r.path, r.status) for r in shop.requests] == [
        ("/rest/all/V1/stockItems/A-1", 200),
        ("/rest/all/V1/stockItems/A-1", 503),
    ]
    assert quantity(client, "A-1") == 3


def test_reads_of_a_never_saved_sandbox_write_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "sandbox" / STORE
    client = client_of(seeded(), directory)

    assert quantity(client, "A-1") == 5
    assert not (tmp_path / "sandbox").exists()


def test_a_first_write_after_another_process_saved_first_keeps_both(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "sandbox" / STORE
    client = client_of(seeded(), directory)
    assert quantity(client, "A-1") == 5
    seeded().save(directory)
    other_process_sells(directory, "A-1", 2)

    put_quantity(client, "B-2", 9)

    assert MagentoEmulator.load(STORE, directory).stock() == {"A-1": 2, "B-2": 9}
    assert quantity(client, "A-1") == 2


def test_a_stray_file_without_a_saved_state_seeds_afresh(tmp_path: Path) -> None:
    directory = tmp_path / "sandbox" / STORE
    directory.mkdir(parents=True)
    (directory / "tmpk2j4x.json").write_text("{")  # left by a crash mid-save
    seed = tmp_path / "catalog.csv"
    seed.write_text("sku,qty\nA-1,4\n")

    shop = open_emulator("magento", STORE, directory, seed)

    assert isinstance(shop, MagentoEmulator)
    assert shop.stock() == {"A-1": 4}

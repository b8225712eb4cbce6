"""Real processes for the daemon tests: served emulators, daemons, configs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.hub.records import HubRecord
from reconciler.hub.state import open_state
from tests.hub.conftest import _postgres_schema

PYTHON = sys.executable
TOKEN_ENV = "DAEMON_TEST_MAGENTO_TOKEN"
TOKEN = "daemon-test-secret-7f3a9c"
SKUS = {"MH01-XS-Black": 100, "MH01-XS-Gray": 100, "MH02-S-Red": 40}


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it is truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def write_catalog(path: Path, skus: dict[str, int]) -> Path:
    lines = ["sku,product_type,qty,is_in_stock,manage_stock,use_config_manage_stock"]
    lines += [f"{sku},simple,{qty},1,1,0" for sku, qty in skus.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Emulators:
    """``reconcile sandbox serve`` as a subprocess."""

    process: subprocess.Popen[str]
    port: int

    def url(self, store: str) -> str:
        return f"http://127.0.0.1:{self.port}/{store}"

    def stock(self, store: str) -> dict[str, int]:
        _, body = http_get(f"http://127.0.0.1:{self.port}/_control/{store}/stock")
        loaded: dict[str, int] = json.loads(body)
        return loaded

    def requests(self, store: str) -> list[dict[str, Any]]:
        _, body = http_get(f"http://127.0.0.1:{self.port}/_control/{store}/requests")
        loaded: list[dict[str, Any]] = json.loads(body)
        return loaded

    def writes(self, store: str) -> list[tuple[str, float]]:
        """(SKU, quantity) of every stock item write the store received."""
        return [
            (r["path"].split("/")[-3], r["body"]["stockItem"]["qty"])
            for r in self.requests(store)
            if r["method"] == "PUT"
        ]

    def set_quantity(self, store: str, sku: str, quantity: int) -> None:
        body = json.dumps({"stockItem": {"qty": quantity, "is_in_stock": quantity > 0}})
        request = urllib.request.Request(
            f"{self.url(store)}/rest/all/V1/products/{sku}/stockItems/1",
            data=body.encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


@pytest.fixture
def emulators_for(tmp_path: Path) -> Iterator[Callable[[list[str]], Emulators]]:
    started: list[subprocess.Popen[str]] = []

    def start(stores: list[str], skus: dict[str, int] = SKUS) -> Emulators:
        seed = write_catalog(tmp_path / f"catalog-{len(started)}.csv", skus)
        args = [PYTHON, "-m", "reconciler", "sandbox", "serve", "--port", "0"]
        for store in stores:
            args += ["--store", f"{store}=magento:{seed}"]
        args += ["--state-dir", str(tmp_path / "served")]
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        started.append(process)
        assert process.stdout is not None
        port = int(process.stdout.readline().split()[-1])
        return Emulators(process, port)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def seed_hub(state_url: str, skus: dict[str, int] = SKUS) -> None:
    """The hub knows the catalog's SKUs (a pass never creates hub records)."""
    at = datetime.now(UTC)
    records = [
        HubRecord(sku, "acme", True, qty, at, "import:test")
        for sku, qty in skus.items()
    ]
    with open_state(state_url) as state:
        state.put_hub_records(records)


def write_config(
    root: Path,
    stores: dict[str, tuple[str, str]],
    interval: str = "1s",
    skus: dict[str, int] = SKUS,
) -> Path:
    """A config repository: ``stores`` maps a name to (endpoint, direction)."""
    (root / "stores").mkdir(parents=True, exist_ok=True)
    (root / "vendors").mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text("defaults:\n  direction: none\n")
    for name, (endpoint, direction) in stores.items():
        write_store(root, name, endpoint, direction, interval)
    products = "".join(f'  "{sku}": {{}}\n' for sku in skus)
    (root / "vendors" / "acme.yaml").write_text(f"vendor: acme\nproducts:\n{products}")
    return root


def write_store(
    root: Path,
    name: str,
    endpoint: str,
    direction: str,
    interval: str = "1s",
    suspended: bool = False,
) -> None:
    (root / "stores" / f"{name}.yaml").write_text(
        f"store: {name}\n"
        "channel:\n"
        "  type: magento\n"
        f"  endpoint: {endpoint}\n"
        "  store_code: all\n"
        f"  token: ${{{TOKEN_ENV}}}\n"
        "inventory:\n"
        f"  direction: {direction}\n"
        "  mode: automatic\n"
        f"  interval: {interval}\n"
        "guard:\n  max_zeroed: 100%\n  max_changed: 100%\n"
        f"suspended: {'true' if suspended else 'false'}\n"
    )


@dataclass
class DaemonProcess:
    process: subprocess.Popen[str]
    log: Path

    def text(self) -> str:
        return self.log.read_text()

    def port(self) -> int:
        def found() -> int | None:
            for line in self.text().splitlines():
                if "event=daemon.http" in line:
                    return int(line.rsplit("port=", 1)[1].split()[0])
            return None

        port: int = wait_for(found, 60, "the daemon's HTTP port in its log")
        return port

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    started: list[subprocess.Popen[str]] = []

    def start(
        config: Path, state: str, *extra: str, name: str = "daemon"
    ) -> DaemonProcess:
        log = tmp_path / f"{name}.log"
        args = [PYTHON, "-m", "reconciler", "daemon", "--config", str(config)]
        args += ["--state", state, "--poll-interval", "0.5", *extra]
        with log.open("w") as sink:
            process = subprocess.Popen(
                args,
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=tmp_path,
                env={**os.environ, "PYTHONUNBUFFERED": "1", TOKEN_ENV: TOKEN},
            )
        started.append(process)
        return DaemonProcess(process, log)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def postgres_state() -> Iterator[str]:
    """A state URL on a fresh schema of the test PostgreSQL, dropped afterwards."""
    yield from _postgres_schema()


@dataclass
class Outlet:
    """One served store taking the hub's values, its config and a seeded hub."""

    served: Emulators
    config: Path
    state: str


def one_outlet(
    tmp_path: Path, emulators_for: Callable[..., Emulators], interval: str = "1s"
) -> Outlet:
    served = emulators_for(["outlet"])
    config = write_config(
        tmp_path / "config",
        {"outlet": (served.url("outlet"), "hub_to_channel")},
        interval,
    )
    state = f"sqlite:///{tmp_path / 'state.db'}"
    seed_hub(state)
    return Outlet(served, config, state)

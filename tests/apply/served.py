"""A world whose stores are served by ``reconcile sandbox serve`` on loopback.

The server is a real process on 127.0.0.1 (port chosen by the system); the
store files point at ``http://127.0.0.1:PORT/NAME`` with their tokens given
as ``${VAR}`` and set in the pass's environment. Tests steer and inspect the
served emulators only through the control endpoints, as an operator would.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from reconciler.hub import open_state
from reconciler.runner import PassOptions, PassResult, run_pass

LOOPBACK = "127.0.0.1"
STOP_SECONDS = 10.0

MAGENTO_STORE = """\
store: {name}
channel:
  type: magento
  endpoint: http://127.0.0.1:{port}/{name}
  store_code: all
  token: ${{{variable}}}
{timeout}inventory:
  direction: {direction}
  mode: automatic
  interval: 5m
"""

SHOPIFY_STORE = """\
store: {name}
channel:
  type: shopify
  endpoint: http://127.0.0.1:{port}/{name}
  api_version: "2025-01"
  location: Main warehouse
  token: ${{{variable}}}
{timeout}inventory:
  direction: {direction}
  mode: automatic
  interval: 5m
"""

MAGENTO_HEADER = "sku,product_type,qty,is_in_stock,manage_stock,use_config_manage_stock"
SHOPIFY_HEADER = (
    "Handle,Title,Variant SKU,Variant Inventory Tracker,"
    "Variant Inventory Qty,Variant Inventory Policy"
)


@dataclass(frozen=True, slots=True)
class ServedStore:
    """One store of the world: its channel kind, direction and seeded stock.

    ``timeout`` is written as the store's ``channel.timeout`` when given.
    """

    name: str
    kind: str
    direction: str
    stock: dict[str, int]
    timeout: str | None = None

    @property
    def token_variable(self) -> str:
        return self.name.upper().replace("-", "_") + "_TOKEN"


@dataclass
class ServedWorld:
    """A config repository, a SQLite state file and the serving process."""

    root: Path
    port: int
    stores: dict[str, ServedStore]

    @property
    def state_url(self) -> str:
        return f"sqlite:///{self.root / '.reconciler' / 'state.db'}"

    @property
    def env(self) -> dict[str, str]:
        """The tokens, as a CI job's environment would hold them."""
        return {
            store.token_variable: f"token-of-{store.name}"
            for store in self.stores.values()
        }

    def run(self, **options: Any) -> PassResult:
        """One pass in this process, over real HTTP to the served stores."""
        return run_pass(
            self.root / "config",
            PassOptions(state_url=self.state_url, env=self.env, **options),
        )

    def hub(self) -> dict[str, tuple[bool, int]]:
        with open_state(self.state_url) as state:
            return {
                sku: (r.manage_inventory, r.quantity_available)
                for sku, r in state.hub_records().items()
            }

    # --- control endpoints ------------------------------------------------

    def control(self, method: str, store: str, action: str, body: Any = None) -> Any:
        url = f"http://{LOOPBACK}:{self.port}/_control/{store}/{action}"
        response = httpx.request(method, url, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def stock(self, store: str) -> dict[str, int]:
        return {
            sku: int(quantity)
            for sku, quantity in self.control("GET", store, "stock").items()
        }

    def faults(self, store: str, **fields: Any) -> None:
        self.control("POST", store, "faults", fields)

    def reset_logs(self) -> None:
        for store in self.stores:
            self.control("POST", store, "reset-log")

    def writes(self, store: str) -> list[str]:
        """The changing requests the store received, in order."""
        return [
            name
            for request in self.control("GET", store, "requests")
            if (name := write_name(request)) is not None
        ]


def write_name(request: dict[str, Any]) -> str | None:
    """``METHOD path`` of a REST write, ``graphql NAME`` of a mutation, else None.

    Shopify reads are POSTs too: a GraphQL body is a write only when its
    operation is a mutation.
    """
    body = request["body"]
    if isinstance(body, dict) and "query" in body:
        words = str(body["query"]).split()
        if words[:1] != ["mutation"]:
            return None
        return "graphql " + words[1].split("(")[0]
    if request["method"] in ("GET", "HEAD"):
        return None
    return f"{request['method']} {request['path']}"


@contextlib.contextmanager
def served_world(root: Path, stores: list[ServedStore]) -> Iterator[ServedWorld]:
    """Seed CSVs, start the server, write the store files; stop it after."""
    (root / "config" / "stores").mkdir(parents=True)
    (root / "config" / "vendors").mkdir()
    command = [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0"]
    for store in stores:
        seed = root / f"{store.name}.csv"
        seed.write_text(_seed_csv(store))
        command += ["--store", f"{store.name}={store.kind}:{seed}"]
    command += ["--state-dir", str(root / "served")]

    with (root / "serve.log").open("w") as log:
        process = subprocess.Popen(
            command, cwd=root, stdout=subprocess.PIPE, stderr=log, text=True
        )
        try:
            yield _started(root, process, stores)
        finally:
            _stop(process)


def _started(
    root: Path, process: subprocess.Popen[str], stores: list[ServedStore]
) -> ServedWorld:
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    assert first.isdigit(), (root / "serve.log").read_text()
    world = ServedWorld(root, int(first), {store.name: store for store in stores})
    for store in stores:
        template = MAGENTO_STORE if store.kind == "magento" else SHOPIFY_STORE
        text = template.format(
            name=store.name,
            port=world.port,
            direction=store.direction,
            variable=store.token_variable,
            timeout=f"  timeout: {store.timeout}\n" if store.timeout else "",
        )
        (root / "config" / "stores" / f"{store.name}.yaml").write_text(text)
    return world


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM (the server's own stop), SIGKILL only if it does not stop."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _seed_csv(store: ServedStore) -> str:
    if store.kind == "magento":
        # is_in_stock as Magento derives it (DESIGN.md section 5), so that a
        # seed at 0 is not a drifted stock status the pass corrects.
        rows = [
            f"{sku},simple,{qty},{int(qty > 0)},1,0" for sku, qty in store.stock.items()
        ]
        return "\n".join([MAGENTO_HEADER, *rows]) + "\n"
    rows = [
        f"item-{n},Item {n},{sku},shopify,{qty},deny"
        for n, (sku, qty) in enumerate(store.stock.items())
    ]
    return "\n".join([SHOPIFY_HEADER, *rows]) + "\n"

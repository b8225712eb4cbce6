"""One daemon keeping 20 Magento stores of 5,000 SKUs each in sync.

The stores are served by one ``reconcile sandbox serve`` process on loopback
and take the hub's values (``hub_to_channel``); the daemon runs as a real
``reconcile daemon`` process on a SQLite state file. After a warm-up pass of
every store, each round changes 1 % of the SKUs in the hub (the master side)
and waits until every store shows them, then the daemon is stopped.

Printed, never asserted:

- CPU seconds of the daemon process per store pass per 1,000 SKUs;
- API calls per pass against the minimum, pages of the read plus
  ``ceil(changes / 250)`` for each pass (changes counted from the journal),
  calls counted from the emulators' request logs.

Legacy Magento stock items are written one synchronous PUT per SKU by
default, each batch read back after (Magento answers 200 to saves it did not
store); ``--bulk`` writes each batch with the asynchronous bulk endpoint
instead.

Run: ``python bench/daemon.py [--rounds 3] [--interval 10] [--bulk]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.channels.magento import PAGE_SIZE
from reconciler.hub.records import HubRecord
from reconciler.hub.state import open_state

STORES = 20
SKUS = 5_000
CHANGED_SHARE = 0.01
ISSUE_BATCH = 250
DEADLINE = 600.0
"""Seconds the whole bench may take before it gives up."""

PYTHON = sys.executable
TOKEN_ENV = "BENCH_MAGENTO_TOKEN"
TICKS = os.sysconf("SC_CLK_TCK")


def sku_names() -> list[str]:
    return [f"BENCH-{n:05d}" for n in range(SKUS)]


def write_catalog(path: Path, skus: list[str]) -> Path:
    lines = ["sku,product_type,qty,is_in_stock,manage_stock,use_config_manage_stock"]
    lines += [f"{sku},simple,50,1,1,0" for sku in skus]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_config(root: Path, urls: dict[str, str], interval: int, bulk: bool) -> Path:
    (root / "stores").mkdir(parents=True)
    (root / "vendors").mkdir()
    (root / "reconciler.yaml").write_text("defaults:\n  direction: none\n")
    for name, url in urls.items():
        (root / "stores" / f"{name}.yaml").write_text(
            f"store: {name}\nchannel:\n  type: magento\n  endpoint: {url}\n"
            f"  store_code: all\n  bulk: {'true' if bulk else 'false'}\n"
            f"  token: ${{{TOKEN_ENV}}}\n"
            "inventory:\n  direction: hub_to_channel\n  mode: automatic\n"
            f"  interval: {interval}s\n"
        )
    products = "".join(f'  "{sku}": {{}}\n' for sku in sku_names())
    (root / "vendors" / "bench.yaml").write_text(
        f"vendor: bench\nproducts:\n{products}"
    )
    return root


def put_hub(state_url: str, quantities: dict[str, int]) -> None:
    at = datetime.now(UTC)
    records = [
        HubRecord(sku, "bench", True, qty, at, "import:bench")
        for sku, qty in quantities.items()
    ]
    with open_state(state_url) as state:
        state.put_hub_records(records)


def http(url: str, method: str = "GET") -> Any:
    request = urllib.request.Request(
        url, method=method, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of a process (and its waited children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICKS


class Bench:
    def __init__(self, work: Path, interval: int, bulk: bool) -> None:
        self.work = work
        self.until = time.monotonic() + DEADLINE
        self.state_url = f"sqlite:///{work / 'state.db'}"
        self.skus = sku_names()
        self.hub = dict.fromkeys(self.skus, 50)
        self.names = [f"store-{n:02d}" for n in range(1, STORES + 1)]
        catalog = write_catalog(work / "catalog.csv", self.skus)
        self.served = self._serve(catalog)
        assert self.served.stdout is not None
        self.port = int(self.served.stdout.readline().split()[-1])
        urls = {name: f"http://127.0.0.1:{self.port}/{name}" for name in self.names}
        self.config = write_config(work / "config", urls, interval, bulk)
        put_hub(self.state_url, self.hub)
        self.daemon = self._daemon()

    def _serve(self, catalog: Path) -> subprocess.Popen[str]:
        args = [PYTHON, "-m", "reconciler", "sandbox", "serve", "--port", "0"]
        for name in self.names:
            args += ["--store", f"{name}=magento:{catalog}"]
        args += ["--state-dir", str(self.work / "served")]
        return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)

    def _daemon(self) -> subprocess.Popen[str]:
        args = [PYTHON, "-m", "reconciler", "daemon", "--config", str(self.config)]
        args += ["--state", self.state_url, "--log-format", "json"]
        log = (self.work / "daemon.log").open("w")
        env = {**os.environ, TOKEN_ENV: "bench-token"}
        return subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.work,
            text=True,
            env=env,
        )

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Poll ``condition``; give up at the deadline or when the daemon died."""
        while not condition():
            if self.daemon.poll() is not None:
                tail = (self.work / "daemon.log").read_text().splitlines()[-5:]
                raise SystemExit("bench: the daemon exited:\n" + "\n".join(tail))
            if time.monotonic() > self.until:
                raise SystemExit(f"bench: gave up waiting for {what}")
            time.sleep(0.5)

    def control(self, store: str, action: str, method: str = "GET") -> Any:
        return http(f"http://127.0.0.1:{self.port}/_control/{store}/{action}", method)

    def runs(self) -> int:
        with open_state(self.state_url) as state:
            return len(state.runs(limit=100_000))

    def in_sync(self, skus: list[str]) -> bool:
        for name in self.names:
            stock = self.control(name, "stock")
            if any(stock[sku] != self.hub[sku] for sku in skus):
                return False
        return True

    def round(self, number: int) -> float:
        changed = random.Random(number).sample(self.skus, int(SKUS * CHANGED_SHARE))
        for sku in changed:
            self.hub[sku] += number
        started = time.monotonic()
        put_hub(self.state_url, {sku: self.hub[sku] for sku in changed})
        self.wait_for(lambda: self.in_sync(changed), f"round {number}")
        return time.monotonic() - started

    def close(self) -> None:
        for process in (self.daemon, self.served):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=120)


def per_run_minimum(state_url: str, first_run: int) -> tuple[int, int]:
    """(passes, least calls) of the runs from ``first_run`` on."""
    pages = math.ceil(SKUS / PAGE_SIZE)
    with open_state(state_url) as state:
        runs = [run for run in state.runs(limit=100_000) if run.id >= first_run]
        changes = Counter(
            entry.run_id for run in runs for entry in state.journal_of(run.id)
        )
    least = sum(pages + math.ceil(changes[run.id] / ISSUE_BATCH) for run in runs)
    return len(runs), least


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--bulk", action="store_true")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as folder:
        bench = Bench(Path(folder), options.interval, options.bulk)
        try:
            report(bench, options.rounds)
        finally:
            bench.close()


def report(bench: Bench, rounds: int) -> None:
    bench.wait_for(lambda: bench.runs() >= STORES, "the warm-up passes")
    for name in bench.names:
        bench.control(name, "reset-log", "POST")
    first_run = bench.runs() + 1
    cpu_before = cpu_seconds(bench.daemon.pid)

    took = [bench.round(number) for number in range(1, rounds + 1)]

    cpu = cpu_seconds(bench.daemon.pid) - cpu_before
    calls = sum(len(bench.control(name, "requests")) for name in bench.names)
    bench.close()
    passes, least = per_run_minimum(bench.state_url, first_run)
    print_report(took, cpu, calls, passes, least)


def print_report(
    took: list[float], cpu: float, calls: int, passes: int, least: int
) -> None:
    per_pass = passes or 1
    print(
        f"daemon bench: {STORES} stores x {SKUS:,} SKUs, "
        f"{CHANGED_SHARE:.0%} changed per round"
    )
    for number, seconds in enumerate(took, 1):
        print(f"  round {number}: every store in sync after {seconds:.1f} s")
    print(f"  store passes measured: {passes}")
    print(f"  CPU per pass per 1,000 SKUs: {cpu / per_pass / (SKUS / 1000):.3f} s")
    print(
        f"  API calls per pass: {calls / per_pass:.1f} "
        f"(minimum {least / per_pass:.1f}, ratio {calls / max(least, 1):.2f})"
    )


if __name__ == "__main__":
    main()

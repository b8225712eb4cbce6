"""How long loading, validating and resolving a large config repository takes.

Generates, in a temporary folder, a repository of 10 stores, 50 vendors and
10,000 product overrides, then measures in the same run:

- the whole job: ``load_policy`` (strict YAML, schemas, cross-file checks, the
  two-masters check) plus ``for_sku`` for every listed SKU in every store;
- libyaml's bare ``yaml.compose`` (CSafeLoader) over the same file texts, the
  floor any loader that keeps line marks stands on;

and prints both, their ratio (target <= 1.5) and the peak memory (target
< 300 MB). Figures are printed, never asserted: they depend on the machine.

Run: ``python bench/config_load.py``
"""

from __future__ import annotations

import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import yaml

from reconciler.policy import Policy, load_policy

STORES = 10
VENDORS = 50
PRODUCTS = 10_000
ROUNDS = 3
MASTER = "store-00"  # the one channel_to_hub store, so the repository is valid


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as folder:
        root = Path(folder)
        generate(root)
        texts = [path.read_text("utf-8") for path in sorted(root.rglob("*.yaml"))]

        full = best_of(lambda: load_and_resolve(root))
        compose = best_of(lambda: compose_all(texts))
        peak = traced_peak(lambda: load_and_resolve(root))

    report(texts, full, compose, peak)


def generate(root: Path) -> None:
    """Write the store and vendor files of the benchmark repository."""
    (root / "stores").mkdir()
    (root / "vendors").mkdir()
    for number in range(STORES):
        name = f"store-{number:02}"
        (root / "stores" / f"{name}.yaml").write_text(store_text(name, number))
    per_vendor = PRODUCTS // VENDORS
    for number in range(VENDORS):
        name = f"vendor-{number:02}"
        text = vendor_text(name, number, per_vendor)
        (root / "vendors" / f"{name}.yaml").write_text(text)


def store_text(name: str, number: int) -> str:
    direction = "channel_to_hub" if name == MASTER else "hub_to_channel"
    if number % 2:
        channel = "  type: shopify\n  location: Main warehouse\n"
    else:
        channel = "  type: magento\n  store_code: all\n"
    return (
        f"store: {name}\n"
        f"channel:\n{channel}  endpoint: sandbox://{name}\n"
        f"inventory:\n  direction: {direction}\n  mode: automatic\n"
        f"  interval: {1 + number % 9}m\n"
        "guard:\n  max_zeroed: 5%\n  max_changed: 50%\n"
    )


def vendor_text(name: str, number: int, products: int) -> str:
    other = f"store-{1 + number % (STORES - 1):02}"
    lines = [
        f"vendor: {name}",
        "inventory_feed:",
        f"  source: feeds/{name}.csv",
        "  columns: {sku: Item, quantity: Available}",
        "  sync:",
        f"    mode: {'manual' if number % 3 == 0 else 'automatic'}",
        "    stores:",
        f"      {other}: {{direction: none}}",
        "products:",
    ]
    for index in range(products):
        lines += product_lines(f"V{number:02}-{index:05}", index)
    return "\n".join(lines) + "\n"


def product_lines(sku: str, index: int) -> list[str]:
    """A product override; the kinds rotate over the settings and levels."""
    kind = index % 4
    if kind == 0:
        return [f'  "{sku}":', "    manage_inventory: false"]
    if kind == 1:
        return [f'  "{sku}":', "    mode: manual", "    interval: 15m"]
    if kind == 2:
        store = f"store-{index % STORES:02}"
        return [f'  "{sku}":', "    stores:", f"      {store}: {{direction: none}}"]
    return [
        f'  "{sku}":',
        "    manage_inventory: true",
        "    stores:",
        f"      {MASTER}: {{mode: manual}}",
        "      store-01: {interval: 30s}",
    ]


def load_and_resolve(root: Path) -> int:
    """The measured job; returns the number of policies resolved."""
    policy: Policy = load_policy(root)
    stores = [store.name for store in policy.stores()]
    skus = list(policy.repository.vendor_of)
    count = 0
    for store in stores:
        for sku in skus:
            policy.for_sku(store, sku)
            count += 1
    return count


def compose_all(texts: list[str]) -> int:
    for text in texts:
        yaml.compose(text, Loader=yaml.CSafeLoader)
    return len(texts)


def best_of(job: Callable[[], int]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        job()
        times.append(time.perf_counter() - started)
    return min(times)


def traced_peak(job: Callable[[], int]) -> int:
    """Peak bytes allocated by Python during one run of ``job``."""
    tracemalloc.start()
    job()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def report(texts: list[str], full: float, compose: float, peak: int) -> None:
    size = sum(len(text.encode("utf-8")) for text in texts)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    resolved = STORES * PRODUCTS
    rows = [
        ("repository", f"{STORES} stores, {VENDORS} vendors, {PRODUCTS} products"),
        ("yaml text", f"{len(texts)} files, {size / 1e6:.2f} MB"),
        ("load+validate+resolve", f"{full:.3f} s ({resolved} policies)"),
        ("libyaml compose", f"{compose:.3f} s"),
        ("ratio", f"{full / compose:.2f} (target <= 1.5)"),
        ("peak traced memory", f"{peak / 2**20:.1f} MB (target < 300 MB)"),
        ("peak process RSS", f"{rss:.1f} MB"),
    ]
    for label, value in rows:
        print(f"{label:<22} {value}")


if __name__ == "__main__":
    main()

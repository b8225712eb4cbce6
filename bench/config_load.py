"""How long loading, validating and resolving a large config repository takes.

Generates, in a temporary folder, a repository of 10 stores, 50 vendors and
10,000 product overrides, then measures in the same run:

- the whole job: ``load_policy`` (strict YAML, schemas, cross-file checks, the
  two-masters check) plus ``Policy.resolve_all``, which resolves every
  distinct combination: each (store, vendor) pair, and each product with
  overrides once for all stores;
- materializing the ``EffectivePolicy`` of every listed SKU in every store
  (``for_sku``, 100,000 calls) on top of that, and looking all of them up
  a second time (cached); printed apart, so nothing is hidden;
- libyaml's bare ``yaml.compose`` (CSafeLoader) over the same file texts, the
  floor any loader that keeps line marks stands on; and the same compose with
  the cyclic garbage collector paused, as the loader runs, for a second ratio;

and prints them, the ratio of the first to compose (target <= 1.5) and the
peak memory of the whole job with materializing (target < 300 MB). The job
and both composes take turns over several rounds and each keeps its best
time, so that a load from other processes meets them alike. Figures are
printed, never asserted: they depend on the machine.

Run: ``python bench/config_load.py``
"""

from __future__ import annotations

import gc
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TypeVar

import yaml

from reconciler.policy import Policy, load_policy

T = TypeVar("T")

STORES = 10
VENDORS = 50
PRODUCTS = 10_000
ROUNDS = 3
TURNS = 9
MASTER = "store-00"  # the one channel_to_hub store, so the repository is valid


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as folder:
        root = Path(folder)
        generate(root)
        texts = [path.read_text("utf-8") for path in sorted(root.rglob("*.yaml"))]

        wall, cpu = best_in_turns(
            [
                lambda: load_and_resolve(root),
                lambda: compose_all(texts),
                collector_paused(lambda: compose_all(texts)),
            ]
        )
        full, compose, compose_paused = wall
        materialize = best_of(lambda: load_and_resolve_policy(root), materialize_all)
        lookup = best_of(lambda: materialized(root), materialize_all)
        peak = traced_peak(lambda: materialize_all(load_and_resolve_policy(root)))
        combinations = load_and_resolve(root)

    figures = Figures(
        full,
        materialize,
        lookup,
        compose,
        compose_paused,
        peak,
        combinations,
        cpu_ratio=cpu[0] / cpu[1],
    )
    report(texts, figures)


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
    """The job the ratio is about; returns the combinations resolved."""
    return load_and_resolve_policy(root).resolve_all()


def load_and_resolve_policy(root: Path) -> Policy:
    policy = load_policy(root)
    policy.resolve_all()
    return policy


def materialized(root: Path) -> Policy:
    """A policy whose 100,000 (store, SKU) policies are already built."""
    policy = load_and_resolve_policy(root)
    materialize_all(policy)
    return policy


def materialize_all(policy: Policy) -> int:
    """``for_sku`` for every listed SKU in every store; returns the count."""
    stores = [store.name for store in policy.stores()]
    skus = list(policy.repository.vendor_of)
    count = 0
    for store in stores:
        for sku in skus:
            policy.for_sku(store, sku)
            count += 1
    return count


def compose_all(texts: list[str]) -> int:
    """libyaml's bare compose of every file text, exactly as the issue asks."""
    for text in texts:
        yaml.compose(text, Loader=yaml.CSafeLoader)
    return len(texts)


def collector_paused(job: Callable[[], int]) -> Callable[[], int]:
    """``job`` run with the cyclic garbage collector paused, as loads run."""

    def paused() -> int:
        gc.disable()
        try:
            return job()
        finally:
            gc.enable()

    return paused


def best_in_turns(jobs: list[Callable[[], int]]) -> tuple[list[float], list[float]]:
    """The best wall and CPU times of each job, over rounds in which they take turns.

    The machine may be shared: taking turns lets the job and the compose it
    is compared with meet the same load, and the best of several rounds
    keeps what the job itself costs. The process's CPU time is kept too, as
    the waits for a busy CPU are not in it.
    """
    wall = [float("inf")] * len(jobs)
    cpu = [float("inf")] * len(jobs)
    for _ in range(TURNS):
        for index, job in enumerate(jobs):
            started, started_cpu = time.perf_counter(), time.process_time()
            job()
            wall[index] = min(wall[index], time.perf_counter() - started)
            cpu[index] = min(cpu[index], time.process_time() - started_cpu)
    return wall, cpu


def best_of(prepare: Callable[[], T], job: Callable[[T], int]) -> float:
    """The best of a few timings of ``job``; ``prepare`` runs untimed."""
    times = []
    for _ in range(ROUNDS):
        given = prepare()
        started = time.perf_counter()
        job(given)
        times.append(time.perf_counter() - started)
    return min(times)


def traced_peak(job: Callable[[], int]) -> int:
    """Peak bytes allocated by Python during one run of ``job``."""
    tracemalloc.start()
    job()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


class Figures(NamedTuple):
    """What one run measured, in seconds, bytes and counts."""

    full: float
    materialize: float
    lookup: float
    compose: float
    compose_paused: float
    peak: int
    combinations: int
    cpu_ratio: float


def report(texts: list[str], figures: Figures) -> None:
    size = sum(len(text.encode("utf-8")) for text in texts)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    policies = STORES * PRODUCTS
    rows = [
        ("repository", f"{STORES} stores, {VENDORS} vendors, {PRODUCTS} products"),
        ("yaml text", f"{len(texts)} files, {size / 1e6:.2f} MB"),
        (
            "load+validate+resolve",
            f"{figures.full:.3f} s (resolve_all: {figures.combinations} distinct "
            "combinations, every (store, vendor) pair and each product's own "
            "level once; (store, SKU) policies materialized lazily by for_sku)",
        ),
        (
            "materialize all",
            f"{figures.materialize:.3f} s more ({policies} for_sku calls, "
            "each (store, SKU) policy built once)",
        ),
        (
            "look up all again",
            f"{figures.lookup:.3f} s ({policies} for_sku calls, cached)",
        ),
        ("libyaml compose", f"{figures.compose:.3f} s"),
        ("ratio", f"{figures.full / figures.compose:.2f} (target <= 1.5)"),
        (
            "ratio in CPU time",
            f"{figures.cpu_ratio:.2f} (the same two jobs, each its best process "
            "CPU time: what a busy machine's waits leave out)",
        ),
        (
            "compose, gc paused",
            f"{figures.compose_paused:.3f} s (the loader pauses the cyclic "
            "collector; against this floor the ratio is "
            f"{figures.full / figures.compose_paused:.2f})",
        ),
        (
            "ratio materialized",
            f"{(figures.full + figures.materialize) / figures.compose:.2f} "
            "(load+validate+resolve+materialize all, to compose)",
        ),
        (
            "peak traced memory",
            f"{figures.peak / 2**20:.1f} MB, materialized (target < 300 MB)",
        ),
        ("peak process RSS", f"{rss:.1f} MB"),
    ]
    for label, value in rows:
        print(f"{label:<22} {value}")


if __name__ == "__main__":
    main()

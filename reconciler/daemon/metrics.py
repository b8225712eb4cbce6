"""The daemon's Prometheus metrics, in a registry of their own.

A dedicated ``CollectorRegistry`` rather than the global one, so that tests
and the bench can run several daemons in one process without clashes.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from reconciler.daemon.scheduler import PassOutcome

PASS_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class DaemonMetrics:
    """Every metric the daemon exports, updated by the service."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.passes = Counter(
            "reconciler_passes",
            "Passes by store and outcome.",
            ["store", "outcome"],
            registry=r,
        )
        self.pass_seconds = Histogram(
            "reconciler_pass_duration_seconds",
            "Duration of a store's pass.",
            ["store"],
            buckets=PASS_BUCKETS,
            registry=r,
        )
        self.changes = Counter(
            "reconciler_changes",
            "Changes applied by store and outcome.",
            ["store", "outcome"],
            registry=r,
        )
        self.drift = Counter(
            "reconciler_drift_found",
            "Items found drifted from their master.",
            ["store"],
            registry=r,
        )
        self.throttle_waits = Counter(
            "reconciler_throttle_waits",
            "Waits for a channel's rate limit (429, THROTTLED, pacing).",
            ["store"],
            registry=r,
        )
        self.retry_waits = Counter(
            "reconciler_retry_waits",
            "Waits before retrying a failed request (5xx, timeout, dropped).",
            ["store"],
            registry=r,
        )
        self.poll_waits = Counter(
            "reconciler_bulk_poll_waits",
            "Waits for a Magento bulk's operations before polling their status.",
            ["store"],
            registry=r,
        )
        self.items_failed = Counter(
            "reconciler_items_failed",
            "Items that failed to apply.",
            ["store"],
            registry=r,
        )
        self.last_success = Gauge(
            "reconciler_last_success_timestamp_seconds",
            "Unix time of the store's last successful pass.",
            ["store"],
            registry=r,
        )
        self.lease_holder = Gauge(
            "reconciler_lease_holder",
            "1 for the replica that holds the store's lease.",
            ["store", "replica"],
            registry=r,
        )
        self.config_reloads = Counter(
            "reconciler_config_reloads",
            "Config reloads by outcome (applied, refused).",
            ["outcome"],
            registry=r,
        )

    def observe_pass(
        self, store: str, outcome: PassOutcome, seconds: float, at: float
    ) -> None:
        """Count one finished pass; ``at`` is its end in Unix time."""
        self.passes.labels(store, "succeeded" if outcome.ok else "failed").inc()
        self.pass_seconds.labels(store).observe(seconds)
        for (changed, name), count in outcome.changes_by_store.items():
            self.changes.labels(changed, name).inc(count)
        self.drift.labels(store).inc(outcome.drift)
        self.throttle_waits.labels(store).inc(outcome.throttle_waits)
        self.retry_waits.labels(store).inc(outcome.retry_waits)
        self.poll_waits.labels(store).inc(outcome.poll_waits)
        self.items_failed.labels(store).inc(outcome.failed_items)
        if outcome.ok:
            self.last_success.labels(store).set(at)

    def holders(self, holders: dict[str, str], stores: list[str]) -> None:
        """Show the current holder of each store (the others' series removed)."""
        self.lease_holder.clear()
        for store in stores:
            holder = holders.get(store)
            if holder is not None:
                self.lease_holder.labels(store, holder).set(1)

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))

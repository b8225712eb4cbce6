"""Throttle waits (the channel's rate limit) and retry waits (a failure's
backoff) are counted apart, from the error that caused each wait."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.channels.retry import with_retries
from reconciler.clock import Backoff, FakeClock
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.passes import CountingClock
from reconciler.daemon.scheduler import PassOutcome
from reconciler.errors import ChannelThrottled, ChannelUnavailable, TemporaryError


def failing(errors: list[TemporaryError]) -> Callable[[], str]:
    def attempt() -> str:
        if errors:
            raise errors.pop(0)
        return "read"

    return attempt


def test_429s_and_503s_are_counted_as_throttle_and_retry_waits() -> None:
    clock = CountingClock(FakeClock())
    errors: list[TemporaryError] = [
        ChannelThrottled("429", retry_after=2.0),
        ChannelUnavailable("503"),
        ChannelUnavailable("timed out"),
    ]

    answer = with_retries(
        failing(errors), clock=clock, backoff=Backoff(), what="read", store="us"
    )
    clock.sleep(0.25)  # the adapter pacing itself to the rate limit

    assert answer == "read"
    assert (clock.waits, clock.retry_waits, clock.waited) == (
        2,
        2,
        [2.0, 1.0, 2.0, 0.25],
    )


def test_the_metrics_export_both_counts_per_store() -> None:
    metrics = DaemonMetrics()
    outcome = PassOutcome(ok=True, throttle_waits=1, retry_waits=3)

    metrics.observe_pass("us", outcome, 0.5, 1_700_000_000.0)

    lines = metrics.exposition().decode().splitlines()
    assert 'reconciler_throttle_waits_total{store="us"} 1.0' in lines
    assert 'reconciler_retry_waits_total{store="us"} 3.0' in lines


def test_changes_are_counted_for_the_store_each_change_concerns() -> None:
    metrics = DaemonMetrics()
    outcome = PassOutcome(
        ok=True,
        changes={"applied": 2},
        changes_by_store={("master", "applied"): 1, ("outlet", "applied"): 1},
    )

    metrics.observe_pass("outlet", outcome, 0.5, 1_700_000_000.0)

    lines = metrics.exposition().decode().splitlines()
    changes = [line for line in lines if line.startswith("reconciler_changes_total")]
    assert changes == [
        'reconciler_changes_total{outcome="applied",store="master"} 1.0',
        'reconciler_changes_total{outcome="applied",store="outlet"} 1.0',
    ]

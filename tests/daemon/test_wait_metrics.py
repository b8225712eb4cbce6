"""Throttle waits (the channel's rate limit) and retry waits (a failure's
backoff) are counted apart, from the error that caused each wait."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from reconciler.channels.base import DesiredChange, Outcome
from reconciler.channels.magento import MagentoAdapter
from reconciler.channels.retry import with_retries
from reconciler.clock import Backoff, FakeClock
from reconciler.config.model import MagentoChannel
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.passes import CountingClock
from reconciler.daemon.scheduler import PassOutcome
from reconciler.errors import ChannelThrottled, ChannelUnavailable, TemporaryError
from reconciler.sandbox.base import transport_for
from reconciler.sandbox.magento import MagentoEmulator


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


def test_the_metrics_export_every_count_per_store() -> None:
    metrics = DaemonMetrics()
    outcome = PassOutcome(ok=True, throttle_waits=1, retry_waits=3, poll_waits=2)

    metrics.observe_pass("us", outcome, 0.5, 1_700_000_000.0)

    lines = metrics.exposition().decode().splitlines()
    assert 'reconciler_throttle_waits_total{store="us"} 1.0' in lines
    assert 'reconciler_retry_waits_total{store="us"} 3.0' in lines
    assert 'reconciler_bulk_poll_waits_total{store="us"} 2.0' in lines


def test_waits_for_a_magento_bulk_are_poll_waits_not_throttle_waits() -> None:
    clock = CountingClock(FakeClock())
    emulator = MagentoEmulator("eu", bulk_consumer_polls=2)
    emulator.add_product("SKU-1", 10)
    channel = MagentoChannel("sandbox://eu", "all", None, token_env=None, bulk=True)
    client = httpx.Client(
        base_url="http://eu.sandbox.invalid", transport=transport_for(emulator)
    )
    adapter = MagentoAdapter("eu", channel, client, token=None, clock=clock)

    outcomes = adapter.write([DesiredChange("SKU-1", "SKU-1", True, 4, True, 10)])

    assert [o.outcome for o in outcomes] == [Outcome.APPLIED]
    assert (clock.waits, clock.retry_waits, clock.poll_waits) == (0, 0, 3)
    assert clock.waited == [0.5, 1.0, 2.0]


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

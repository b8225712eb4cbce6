"""Retries and pacing shared by the channel adapters, on an injected clock.

Both helpers are channel-neutral: the adapters say what one attempt is and
what the channel's own throttle figures were; this module decides how long to
wait. Every wait goes through ``Clock.sleep``, so tests read the schedule from
``FakeClock.waits`` instead of sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconciler.clock import Backoff, Clock, sleep_because
from reconciler.errors import ChannelThrottled, TemporaryError

logger = logging.getLogger(__name__)

T = TypeVar("T")
POINT_TOLERANCE = 1e-6
"""A shortfall below this is float rounding of a refill, not a reason to wait."""


def with_retries(
    attempt: Callable[[], T],
    *,
    clock: Clock,
    backoff: Backoff,
    what: str,
    store: str,
) -> T:
    """Run ``attempt`` until it succeeds, retrying ``TemporaryError`` only.

    The wait before retry ``n`` is the channel's own hint (``retry_after``)
    when it gave one, else the backoff schedule. After ``backoff.attempts``
    attempts the last temporary error is raised to the caller, which decides
    whether that fails a read or defers a write. Each retry is logged at info
    (``-v`` shows it) with its wait and reason, a give-up at warning.
    """
    number = 1
    while True:
        try:
            return attempt()
        except TemporaryError as error:
            if number >= backoff.attempts:
                logger.warning(
                    "event=channel.give_up store=%s what=%s attempts=%d error=%s "
                    "reason=%r",
                    store,
                    what,
                    number,
                    type(error).__name__,
                    str(error),
                )
                raise _given_up(error, number) from (error.__cause__ or error)
            wait = backoff.delay(number - 1, error.retry_after)
            logger.info(
                "event=channel.retry store=%s what=%s attempt=%d wait=%.3f error=%s "
                "reason=%r",
                store,
                what,
                number,
                wait,
                type(error).__name__,
                str(error),
            )
            _wait(clock, wait, error)
            number += 1


def _given_up(error: TemporaryError, attempts: int) -> TemporaryError:
    """The last error, saying how many attempts it ended."""
    if attempts <= 1:
        return error
    message = f"{error} (gave up after {attempts} attempts)"
    return type(error)(message, retry_after=error.retry_after)


def _wait(clock: Clock, seconds: float, error: TemporaryError) -> None:
    """Sleep, telling a clock that counts waits whether a rate limit
    (``ChannelThrottled``) or a failure (any other temporary error) caused it."""
    reason = "throttle" if isinstance(error, ChannelThrottled) else "retry"
    sleep_because(clock, seconds, reason)


@dataclass
class LeakyBucket:
    """What the client last learnt of a channel's leaky bucket.

    A channel reports its bucket (capacity, points left, refill per second)
    with its answers; between answers the client assumes the bucket refilled
    at the reported rate. ``wait_for(cost)`` is how long to wait before a
    request of that cost fits, so requests are paced instead of refused.
    Nothing is assumed until the channel has reported its figures once.
    """

    maximum: float | None = None
    available: float | None = None
    restore_rate: float | None = None
    observed_at: float = 0.0

    def observe(
        self, *, maximum: float, available: float, restore_rate: float, now: float
    ) -> None:
        self.maximum = maximum
        self.available = available
        self.restore_rate = restore_rate
        self.observed_at = now

    def estimate(self, now: float) -> float | None:
        """The points available at ``now``, or ``None`` when never reported."""
        if self.available is None or self.restore_rate is None:
            return None
        refilled = self.available + (now - self.observed_at) * self.restore_rate
        return refilled if self.maximum is None else min(self.maximum, refilled)

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds to wait until ``cost`` points are available (0 when they are)."""
        available = self.estimate(now)
        if available is None or self.restore_rate is None or self.restore_rate <= 0:
            return 0.0
        if cost <= available + POINT_TOLERANCE:
            return 0.0
        return (cost - available) / self.restore_rate

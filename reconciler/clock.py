"""Time as a dependency, so that waits and schedules are tested on a fake clock.

Every wait in the engine goes through a ``Clock``. A stop event wakes a waiting
clock at once (the daemon's signal handlers only set that event).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


@runtime_checkable
class WaitCounter(Protocol):
    """A clock told why it waits: ``"throttle"`` (the channel's rate limit,
    429/THROTTLED), ``"retry"`` (5xx, timeout, dropped connection) or
    ``"poll"`` (waiting on the channel's own queue, a Magento bulk)."""

    def sleep_for(self, seconds: float, reason: str) -> None: ...


def sleep_because(clock: Clock, seconds: float, reason: str) -> None:
    """Sleep on ``clock``, telling it why when it counts its waits."""
    if isinstance(clock, WaitCounter):
        clock.sleep_for(seconds, reason)
    else:
        clock.sleep(seconds)


class SystemClock:
    """Real time; ``sleep`` returns early when ``stop`` is set."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stop.wait(seconds)


@dataclass
class FakeClock:
    """A clock that only moves when slept on; records every wait."""

    now: float = 0.0
    waits: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += max(seconds, 0.0)


@dataclass(frozen=True, slots=True)
class Backoff:
    """A capped retry schedule held as data.

    Attempt ``n`` (0-based) of a retry waits ``delays[min(n, len-1)]`` seconds
    unless the channel said how long to wait, which is honoured up to
    ``max_wait``. ``attempts`` bounds the retries of one request.
    """

    delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    max_wait: float = 60.0
    attempts: int = 6

    def delay(self, attempt: int, hint: float | None = None) -> float:
        if hint is not None:
            return min(max(hint, 0.0), self.max_wait)
        return min(self.delays[min(attempt, len(self.delays) - 1)], self.max_wait)

"""The daemon's loop: reload, leases, due passes, metrics, clean stop.

One main thread decides and waits; each pass runs in a thread of its own, so a
slow store never holds up another. Every wait is on one ``wake`` event that a
stop, a SIGHUP or a finished pass sets, so the loop reacts at once; signal
handlers only set events. On stop no new pass starts, the passes in flight
finish (their waits return early, as their clock sleeps on the stop event)
and are journaled by the pass itself, the leases are handed over, and ``run``
returns 0. Stdout stays quiet: logs go to stderr, and with ``--metrics-port``
one line ``metrics on http://127.0.0.1:PORT`` says where the HTTP side is.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.clock import SystemClock
from reconciler.daemon import logs
from reconciler.daemon.health import HealthServer
from reconciler.daemon.leases import LeaseBook, LeaseRound
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.passes import CountingClock
from reconciler.daemon.reload import ConfigGeneration, ConfigWatcher, Validator
from reconciler.daemon.scheduler import PassOutcome, RetrySchedule, Scheduler
from reconciler.daemon.status import document
from reconciler.daemon.wakeup import Wakeup
from reconciler.errors import StateError

log = logging.getLogger(__name__)

STUCK_AFTER_S = 60.0
"""The least time without a turn of the loop that makes the daemon not live."""

PassFunction = Callable[
    [ConfigGeneration, str, CountingClock, Callable[[], bool], frozenset[float] | None],
    PassOutcome,
]
"""Runs one store's pass under a config generation; the fourth argument says
whether the daemon is stopping (asked between apply batches), the last which
interval groups of the store's SKUs are due (``None``: all of them)."""

Probe = Callable[[], str | None]
"""Why the state store is unusable, or None when it answers."""


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """How the daemon runs; times in seconds."""

    config_dir: Path
    replica: str
    lease_ttl: float = 30.0
    poll_interval: float = 2.0
    stop_grace: float = 120.0
    metrics_port: int | None = None
    once: bool = False
    retry: RetrySchedule = field(default_factory=RetrySchedule)


class Daemon:
    """Keeps every store in sync on its interval until stopped."""

    def __init__(
        self,
        settings: DaemonSettings,
        validate: Validator,
        run_store: PassFunction,
        leases: LeaseBook,
        probe: Probe,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.stop = stop or threading.Event()
        self.metrics = DaemonMetrics()
        self._run_store = run_store
        self._leases = leases
        self._probe = probe
        self._wake = Wakeup()
        self._reload_asked = False
        self._lock = threading.Lock()
        self._scheduler = Scheduler(settings.retry)
        self._snapshots = Path(tempfile.mkdtemp(prefix="reconciler-daemon-"))
        logs.show_config_path(self._snapshots, settings.config_dir)
        self._watcher = ConfigWatcher(settings.config_dir, self._snapshots, validate)
        self._threads: dict[str, threading.Thread] = {}
        self._held: frozenset[str] = frozenset()
        self._last_lease_ok = 0.0
        self._failed_once = False
        self._server: HealthServer | None = None
        self._passes = 0
        self._last_turn = time.monotonic()

    # --- signals (no lock the main thread may hold: see ``Wakeup``) -----------

    def request_stop(self) -> None:
        self.stop.set()  # only pass threads ever hold its lock, never this one
        self._wake.set()

    def request_reload(self) -> None:
        self._reload_asked = True
        self._wake.set()

    # --- the loop --------------------------------------------------------------

    def run(self) -> int:
        """Run until stopped (or one round with ``once``); the exit code."""
        try:
            if not self._first_config():
                return 1
            self._serve_http()
            return self._once() if self.settings.once else self._forever()
        finally:
            self._shutdown()

    def _first_config(self) -> bool:
        result = self._watcher.check(force=True)
        if result is None or result.generation is None:
            self._log_refused(result.problems if result else (), keeping="none")
            log.error("daemon.start", extra=logs.fields(outcome="config_invalid"))
            return False
        self._adopt(result.generation)
        return True

    def _forever(self) -> int:
        next_poll = next_lease = 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            self._last_turn = now
            if self._reload_asked or now >= next_poll:
                self._reload()
                next_poll = now + self.settings.poll_interval
            if now >= next_lease:
                self._lease_round(now)
                next_lease = now + self.settings.lease_ttl / 3
            self._start_due(now)
            self._sleep_until(min(next_poll, next_lease))
        return 0

    def _once(self) -> int:
        self._lease_round(time.monotonic())
        self._start_due(time.monotonic())
        for thread in list(self._threads.values()):
            thread.join()
        return 1 if self._failed_once else 0

    def _sleep_until(self, deadline: float) -> None:
        with self._lock:
            due = self._scheduler.next_wake(self._held)
        if due is not None:
            deadline = min(deadline, due)
        self._wake.wait(max(deadline - time.monotonic(), 0.01))

    # --- config ------------------------------------------------------------------

    def _reload(self) -> None:
        forced = self._reload_asked
        self._reload_asked = False
        result = self._watcher.check(force=forced)
        if result is None:
            if forced:
                log.info("daemon.config", extra=logs.fields(outcome="unchanged"))
            return
        if result.generation is None:
            self.metrics.config_reloads.labels("refused").inc()
            self._log_refused(result.problems)
            return
        self.metrics.config_reloads.labels("applied").inc()
        self._adopt(result.generation)

    def _adopt(self, generation: ConfigGeneration) -> None:
        logs.mask_secrets(_env_values(generation.token_envs()))
        with self._lock:
            self._scheduler.configure(generation.store_specs(), time.monotonic())
        log.info(
            "daemon.config",
            extra=logs.fields(
                outcome="applied",
                generation=generation.number,
                stores=len(generation.repository.stores),
            ),
        )
        for store in generation.repository.stores.values():
            if store.suspended:
                mark = store.suspended_mark or store.mark
                log.info(
                    "daemon.suspended",
                    extra=logs.fields(
                        store=store.name,
                        file=f"{mark.path}:{mark.line}",
                        next="not synced until suspended is false",
                    ),
                )

    def _log_refused(
        self, problems: tuple[Any, ...], keeping: str = "last_good"
    ) -> None:
        """``keeping`` says what runs on: the last good config, or ``none``
        when the first one is refused (the daemon then exits 1)."""
        log.error(
            "daemon.config",
            extra=logs.fields(
                outcome="refused", problems=len(problems), keeping=keeping
            ),
        )
        for problem in problems:
            log.error("%s", problem)

    # --- leases ------------------------------------------------------------------

    def _lease_round(self, now: float) -> None:
        with self._lock:
            stores = self._scheduler.stores()
            running = frozenset(self._scheduler.running())
        try:
            round_ = self._leases.round(stores, running)
        except StateError as error:
            self._lease_failure(now, str(error))
            return
        self._last_lease_ok = now
        self._apply_round(round_, stores, now)

    def _lease_failure(self, now: float, reason: str) -> None:
        log.error("daemon.lease", extra=logs.fields(outcome="failed", reason=reason))
        if now - self._last_lease_ok > self.settings.lease_ttl:
            self._held = frozenset()

    def _apply_round(self, round_: LeaseRound, stores: list[str], now: float) -> None:
        self._held = round_.held
        with self._lock:
            for store in stores:
                self._scheduler.set_holder(store, round_.holders.get(store))
            for store in round_.acquired:
                self._scheduler.acquired(store, now)
        self.metrics.holders(dict(round_.holders), stores)
        for store in sorted(round_.acquired):
            log.info("daemon.lease", extra=logs.fields(store=store, outcome="acquired"))
        for store in sorted(round_.lost):
            log.warning("daemon.lease", extra=logs.fields(store=store, outcome="lost"))

    # --- passes ------------------------------------------------------------------

    def _start_due(self, now: float) -> None:
        generation = self._watcher.current
        if generation is None or self.stop.is_set():
            return
        with self._lock:
            due = self._scheduler.due(now, self._held)
            groups = {store: self._scheduler.started(store, now) for store in due}
        for store in due:
            self._passes += 1
            thread = threading.Thread(
                target=self._pass,
                args=(generation, store, self._passes, groups[store]),
                name=f"pass-{store}",
            )
            self._threads[store] = thread
            thread.start()

    def _pass(
        self,
        generation: ConfigGeneration,
        store: str,
        number: int,
        groups: frozenset[float] | None,
    ) -> None:
        with logs.bind(store=store, daemon_pass=number, generation=generation.number):
            clock = CountingClock(SystemClock(self.stop))
            started = time.monotonic()
            outcome = self._guarded_pass(generation, store, clock, groups)
            self._finish(store, outcome, time.monotonic() - started)

    def _guarded_pass(
        self,
        generation: ConfigGeneration,
        store: str,
        clock: CountingClock,
        groups: frozenset[float] | None,
    ) -> PassOutcome:
        """A pass's failure, whatever it is, becomes this store's failed outcome."""
        try:
            return self._run_store(generation, store, clock, self.stop.is_set, groups)
        except Exception as error:
            log.exception(
                "daemon.pass.error", extra=logs.fields(error=type(error).__name__)
            )
            return PassOutcome(ok=False, error=str(error) or type(error).__name__)

    def _finish(self, store: str, outcome: PassOutcome, seconds: float) -> None:
        now, wall = time.monotonic(), datetime.now(UTC)
        with self._lock:
            self._scheduler.finished(store, outcome, now, wall)
            failures = (
                self._scheduler.failures(store)
                if store in self._scheduler.stores()
                else 0
            )
        self.metrics.observe_pass(store, outcome, seconds, wall.timestamp())
        self._failed_once = self._failed_once or not outcome.ok
        level = logging.INFO if outcome.ok else logging.ERROR
        log.log(
            level,
            "daemon.pass",
            extra=logs.fields(
                run=outcome.run_id,
                outcome=_outcome_word(outcome),
                changes=sum(
                    count
                    for name, count in outcome.changes.items()
                    if name != "already"
                ),
                failed_items=outcome.failed_items,
                seconds=round(seconds, 3),
                failures=failures,
                error=outcome.error or "",
            ),
        )
        self._wake.set()
        self._threads.pop(store, None)  # after the wake: see ``_shutdown``

    # --- status and health -------------------------------------------------------

    def status(self) -> dict[str, Any]:
        with self._lock:
            views = self._scheduler.views(time.monotonic(), datetime.now(UTC))
        generation = self._watcher.current
        return document(
            views,
            replica=self.settings.replica,
            generation=generation.number if generation else None,
            refused=[str(p) for p in self._watcher.refused],
        )

    def liveness(self) -> str | None:
        """Why the daemon is not live: its loop has not turned for far longer
        than it ever sleeps (it wakes at least every poll interval)."""
        stuck = time.monotonic() - self._last_turn
        limit = max(10 * self.settings.poll_interval, STUCK_AFTER_S)
        if self.settings.once or stuck <= limit:
            return None
        return f"the main loop has not turned for {stuck:.0f} s"

    def readiness(self) -> str | None:
        if self._watcher.current is None:
            return "no valid config loaded"
        if self._watcher.refused:
            count = len(self._watcher.refused)
            problems = f"{count} problem{'s' * (count != 1)}"
            return f"config refused ({problems}); running the last good config"
        return self._probe()

    def _serve_http(self) -> None:
        if self.settings.metrics_port is None:
            return
        server = HealthServer(
            self.metrics,
            self.status,
            self.readiness,
            liveness=self.liveness,
            port=self.settings.metrics_port,
        )
        server.start()
        self._server = server
        log.info("daemon.http", extra=logs.fields(host="127.0.0.1", port=server.port))
        print(f"metrics on http://127.0.0.1:{server.port}", file=sys.stderr, flush=True)

    @property
    def http_port(self) -> int | None:
        return self._server.port if self._server else None

    # --- stop ----------------------------------------------------------------------

    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.settings.stop_grace
        for store, thread in list(self._threads.items()):
            thread.join(max(deadline - time.monotonic(), 0.0))
            if thread.is_alive():
                log.error(
                    "daemon.stop",
                    extra=logs.fields(store=store, outcome="pass_still_running"),
                )
        if not any(thread.is_alive() for thread in self._threads.values()):
            self._wake.close()  # else a pass still running may yet wake it
        self._leases.release_all()
        self._leases.close()
        if self._server is not None:
            self._server.close()
        shutil.rmtree(self._snapshots, ignore_errors=True)
        log.info(
            "daemon.stop",
            extra=logs.fields(outcome="stopped", replica=self.settings.replica),
        )


def _outcome_word(outcome: PassOutcome) -> str:
    if not outcome.ok:
        return "failed"
    return "stopped" if outcome.stopped else "succeeded"


def _env_values(names: list[str]) -> list[str]:
    return [os.environ[name] for name in names if os.environ.get(name)]

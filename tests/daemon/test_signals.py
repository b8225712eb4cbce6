"""Signals never hang the daemon, and a loop that stops turning is not live.

A signal handler runs on the main thread between any two bytecodes; one that
takes a lock the interrupted code holds waits for ever. The daemon's handlers
take none (``Wakeup``); a burst of SIGHUPs followed by SIGTERM must end the
process, every time.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from reconciler.daemon.health import HealthServer
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.wakeup import Wakeup
from tests.daemon.conftest import (
    DaemonProcess,
    Emulators,
    http_get,
    one_outlet,
    wait_for,
)


def test_a_wake_set_before_the_wait_ends_it_at_once() -> None:
    wakeup = Wakeup()
    for _ in range(200_000):  # more than a pipe holds: never blocks
        wakeup.set()

    started = time.monotonic()
    wakeup.wait(30)
    woken = time.monotonic() - started
    wakeup.wait(0.05)
    drained = time.monotonic() - started - woken
    wakeup.close()
    wakeup.set()  # after close: a late signal does nothing

    assert woken < 5
    assert drained >= 0.05


def test_a_burst_of_reloads_then_a_stop_always_ends_the_daemon(
    tmp_path: Path,
    emulators_for: Callable[..., Emulators],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    outlet = one_outlet(tmp_path, emulators_for)
    daemon = start_daemon(outlet.config, outlet.state, "--metrics-port", "0")
    base = f"http://127.0.0.1:{daemon.port()}"
    wait_for(lambda: "event=daemon.pass " in daemon.text(), 60, "the first pass")

    for _ in range(3):
        for _ in range(300):
            daemon.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert http_get(base + "/healthz") == (200, "ok\n")
    code = daemon.terminate()

    assert code == 0
    assert "event=daemon.stop outcome=stopped" in daemon.text()


def test_healthz_says_why_the_daemon_is_not_live() -> None:
    reasons: list[str | None] = [None]
    server = HealthServer(
        DaemonMetrics(), dict, lambda: None, liveness=lambda: reasons[-1]
    )
    server.start()
    url = f"http://127.0.0.1:{server.port}/healthz"
    try:
        live = http_get(url)
        reasons.append("the main loop has not turned for 95 s")
        stuck = http_get(url)
    finally:
        server.close()

    assert live == (200, "ok\n")
    assert stuck == (503, "not live: the main loop has not turned for 95 s\n")

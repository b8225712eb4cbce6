"""``reconcile daemon``: every store passed on its interval until stopped."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from reconciler.cli import EXIT_ERROR, config_option, main, state_option
from reconciler.config.model import Repository
from reconciler.daemon import logs
from reconciler.daemon.leases import open_leases
from reconciler.daemon.passes import CountingClock, store_pass
from reconciler.daemon.reload import ConfigGeneration
from reconciler.daemon.scheduler import PassOutcome
from reconciler.daemon.service import Daemon, DaemonSettings
from reconciler.errors import ConfigInvalid, StateError
from reconciler.hub.state import SqlStateStore, open_state
from reconciler.policy import load_policy


@main.command()
@config_option
@state_option
@click.option("--once", is_flag=True, help="One pass of every due store, then exit.")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    help="Serve /metrics, /healthz, /readyz, /status on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--log-format",
    type=click.Choice(["plain", "json"]),
    default="plain",
    show_default=True,
)
@click.option("--replica-id", help="This replica's id (default: host:pid).")
@click.option(
    "--lease-ttl",
    type=click.FloatRange(min=1.0),
    default=30.0,
    show_default=True,
    help="Seconds a replica's store leases live without renewal.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between checks of the config repository for changes.",
)
def daemon(
    config_dir: str,
    state_url: str | None,
    once: bool,
    metrics_port: int | None,
    log_format: str,
    replica_id: str | None,
    lease_ttl: float,
    poll_interval: float,
) -> None:
    """Keep every store in sync on its interval; SIGHUP reloads, SIGTERM stops."""
    logs.configure(log_format, secrets=())
    replica = replica_id or f"{socket.gethostname()}:{os.getpid()}"
    root = Path(config_dir)
    url = state_url or _configured_state_url(root)

    try:
        state = open_state(url)
    except StateError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)

    try:
        code = _run(
            root, url, state, replica, once, metrics_port, lease_ttl, poll_interval
        )
    finally:
        state.close()
    sys.exit(code)


def _run(
    root: Path,
    url: str,
    state: SqlStateStore,
    replica: str,
    once: bool,
    metrics_port: int | None,
    lease_ttl: float,
    poll_interval: float,
) -> int:
    try:
        leases = open_leases(state, replica, lease_ttl)
    except StateError as error:
        click.echo(f"error: {error}", err=True)
        return EXIT_ERROR

    settings = DaemonSettings(
        config_dir=root,
        replica=replica,
        lease_ttl=lease_ttl,
        poll_interval=poll_interval,
        metrics_port=metrics_port,
        once=once,
    )

    def run_store(
        generation: ConfigGeneration,
        store: str,
        clock: CountingClock,
        should_stop: Callable[[], bool],
        groups: frozenset[float] | None,
    ) -> PassOutcome:
        return store_pass(
            generation, store, clock, should_stop, state_url=url, groups=groups
        )

    service = Daemon(settings, _validate, run_store, leases, lambda: _probe(state))
    _install_signals(service)
    return service.run()


def _validate(root: Path) -> Repository:
    return load_policy(root).repository


def _configured_state_url(root: Path) -> str:
    """The config's state URL when it loads; else the default SQLite file."""
    try:
        return load_policy(root).repository.settings.state_url
    except ConfigInvalid:
        return "sqlite:///.reconciler/state.db"


def _probe(state: SqlStateStore) -> str | None:
    try:
        state.runs(limit=1)
    except StateError as error:
        return f"state store unreachable: {error}"
    return None


def _install_signals(service: Daemon) -> None:
    def stop(_signum: int, _frame: Any) -> None:
        service.request_stop()

    def reload(_signum: int, _frame: Any) -> None:
        service.request_reload()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)

"""``reconcile status``: every store's status, from a daemon or the state."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from reconciler.cli import EXIT_ERROR, config_option, main, state_option
from reconciler.daemon.status import RECENT_RUNS, document, render_text, views_from_runs
from reconciler.errors import ConfigInvalid, StateError
from reconciler.hub.state import SqlStateStore, open_state
from reconciler.policy import load_policy


@main.command()
@config_option
@state_option
@click.option("--url", help="A running daemon's address, e.g. http://127.0.0.1:9464.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def status(
    config_dir: str, state_url: str | None, url: str | None, output_format: str
) -> None:
    """Each store: synced, out_of_sync, degraded or suspended."""
    try:
        doc = _from_daemon(url) if url else _from_state(Path(config_dir), state_url)
    except (ConfigInvalid, StateError, OSError, ValueError) as error:
        click.echo(f"error: {_describe(error)}", err=True)
        sys.exit(EXIT_ERROR)

    if output_format == "json":
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(render_text(doc))


def _from_daemon(url: str) -> dict[str, Any]:
    address = url.rstrip("/") + "/status"
    if not address.startswith(("http://", "https://")):
        raise ValueError(f"--url {url}: expected http://HOST:PORT")
    with urllib.request.urlopen(address, timeout=10) as response:
        loaded: dict[str, Any] = json.load(response)
    return loaded


def _from_state(root: Path, state_url: str | None) -> dict[str, Any]:
    repository = load_policy(root).repository
    stores = {
        name: (
            float(store.defaults.interval.value if store.defaults.interval else 300),
            store.suspended,
        )
        for name, store in repository.stores.items()
    }
    url = state_url or repository.settings.state_url
    with open_state(url, migrate=False) as state:
        runs = state.runs(limit=RECENT_RUNS)
        holders = _holders(state, list(stores))
    views = [
        replace(view, held_by=holders.get(view.store))
        for view in views_from_runs(stores, runs)
    ]
    return document(views, replica=None, generation=None)


def _holders(state: SqlStateStore, stores: list[str]) -> dict[str, str]:
    """Who syncs each store now: the lease holders, on PostgreSQL. (On SQLite
    one daemon holds the file's lock; telling who would mean taking it.)"""
    if state.backend == "sqlite":
        return {}
    found = {store: state.lease_holder(store) for store in stores}
    return {store: holder for store, holder in found.items() if holder}


def _describe(error: Exception) -> str:
    if isinstance(error, ConfigInvalid):
        return "\n".join([str(error), *(str(p) for p in error.problems)])
    if isinstance(error, urllib.error.URLError):
        return f"daemon not reachable: {error.reason}"
    return str(error)

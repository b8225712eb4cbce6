"""``reconcile history [--run ID]``: recent runs, or one run's journal."""

from __future__ import annotations

import sys

import click

from reconciler.cli import EXIT_ERROR, EXIT_OK, main
from reconciler.errors import StateError
from reconciler.hub import open_state
from reconciler.hub.records import JournalEntry, RunRecord, StateStore
from reconciler.runner import DEFAULT_STATE_URL


@main.command()
@click.option("--state", "state_url", default=DEFAULT_STATE_URL, show_default=True)
@click.option("--run", "run_id", type=int, help="Show this run's journal.")
@click.option("--limit", default=20, show_default=True, help="How many runs.")
def history(state_url: str, run_id: int | None, limit: int) -> None:
    """Recent runs and their journaled changes."""
    try:
        with open_state(state_url) as state:
            lines = _runs(state, limit) if run_id is None else _journal(state, run_id)
    except (StateError, LookupError) as error:
        click.echo(f"reconcile history: {error}", err=True)
        sys.exit(EXIT_ERROR)
    for line in lines:
        click.echo(line)
    sys.exit(EXIT_OK)


def _runs(state: StateStore, limit: int) -> list[str]:
    runs = state.runs(limit)
    if not runs:
        return ["no runs yet"]
    return [_run_line(run) for run in runs]


def _run_line(run: RunRecord) -> str:
    finished = run.finished_at.isoformat(timespec="seconds") if run.finished_at else "-"
    counts = " ".join(f"{key}={value}" for key, value in sorted(run.summary.items()))
    stores = ",".join(run.stores) or "-"
    started = run.started_at.isoformat(timespec="seconds")
    return (
        f"run {run.id}  {run.kind.value:<6} {run.status.value:<9} {started} -> "
        f"{finished}  stores={stores}  {counts}".rstrip()
    )


def _journal(state: StateStore, run_id: int) -> list[str]:
    run = state.run(run_id)
    if run is None:
        raise LookupError(f"no run {run_id} in the state store")
    entries = state.journal_of(run_id)
    return [_run_line(run)] + [_entry_line(e) for e in entries]


def _entry_line(entry: JournalEntry) -> str:
    message = f"  ({entry.message})" if entry.message else ""
    return (
        f"  {entry.store} {entry.sku} {entry.target}.{entry.field}: "
        f"{entry.before} -> {entry.after}  {entry.outcome}{message}"
    )

"""``reconcile history [--run ID]``: recent runs, or one run's journal.

The state store is ``--state`` (or ``RECONCILER_STATE``), else the ``state``
of the config's ``reconciler.yaml``. An SQLite file that does not exist yet
is reported as no runs, not created.

The journal keeps values as text; the JSON output gives them back in the
plan's types (``quantity_available`` a number, ``manage_inventory`` and
``is_in_stock`` booleans, ``null`` for none), and the text output writes
none as ``-``. ``--format markdown`` prints the same as tables.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler.cli import (
    EXIT_ERROR,
    EXIT_OK,
    config_option,
    main,
    state_option,
    text_or_json_option,
)
from reconciler.errors import ConfigInvalid, StateError
from reconciler.hub import open_state
from reconciler.hub.records import JournalEntry, RunRecord, StateStore
from reconciler.hub.state import sqlite_file_absent
from reconciler.policy import load_policy
from reconciler.runner import DEFAULT_STATE_URL

NONE = "-"
"""How text and Markdown write a value that was not there."""
FLAG_FIELDS = frozenset({"manage_inventory", "is_in_stock"})


@main.command()
@config_option
@state_option
@click.option("--run", "run_id", type=int, help="Show this run's journal.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many runs (at least 1).",
)
@text_or_json_option("Runs for people, for tools, or as Markdown tables.")
def history(
    config_dir: str,
    state_url: str | None,
    run_id: int | None,
    limit: int,
    output_format: str,
) -> None:
    """Recent runs and their journaled changes."""
    url = state_url or _configured_state_url(Path(config_dir))
    try:
        found = _read(url, run_id, limit)
    except (StateError, LookupError) as error:
        _fail(str(error))

    if output_format == "json":
        click.echo(json.dumps(_as_json(found, run_id), indent=2))
    elif output_format == "markdown":
        click.echo(_as_markdown(found))
    else:
        for line in _as_text(found, run_id):
            click.echo(line)
    sys.exit(EXIT_OK)


Found = tuple[list[RunRecord], list[JournalEntry]]
"""The runs read (one with ``--run``) and that run's journal."""


def _configured_state_url(root: Path) -> str:
    """``reconciler.yaml``'s state; the default file when there is no config."""
    if not root.is_dir():
        return DEFAULT_STATE_URL
    try:
        return load_policy(root).repository.settings.state_url
    except ConfigInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        _fail(f"{invalid}; pass --state to read the history anyway")


def _read(url: str, run_id: int | None, limit: int) -> Found:
    if sqlite_file_absent(url):
        if run_id is not None:
            raise LookupError(f"no run {run_id}: no state store yet")
        return [], []
    with open_state(url, migrate=False) as state:
        return _runs(state, limit) if run_id is None else _journal(state, run_id)


def _runs(state: StateStore, limit: int) -> Found:
    return list(state.runs(limit)), []


def _journal(state: StateStore, run_id: int) -> Found:
    run = state.run(run_id)
    if run is None:
        raise LookupError(f"no run {run_id} in the state store")
    return [run], list(state.journal_of(run_id))


# --- rendering -----------------------------------------------------------------


def _as_text(found: Found, run_id: int | None) -> list[str]:
    runs, entries = found
    if not runs:
        return ["no runs yet"]
    if run_id is not None:
        run = runs[0]
        return [_run_line(run), *_outcome_lines(run), *map(_entry_line, entries)]
    return [_run_line(run) for run in runs]


def _outcomes(run: RunRecord) -> dict[str, dict[str, Any]]:
    """Each store's outcome in the run, as the pass recorded it (runs written
    before outcomes were recorded have none)."""
    stores = run.summary.get("stores")
    return stores if isinstance(stores, dict) else {}


def _outcome_lines(run: RunRecord) -> list[str]:
    lines = []
    for store, outcome in sorted(_outcomes(run).items()):
        unresolved = outcome.get("unresolved") or 0
        error = outcome.get("error")
        line = f"  {store}  {outcome.get('outcome', '-')}"
        if error:
            line += f"  {error}"
        if unresolved:
            line += f"  ({unresolved} unresolved)"
        waiting = outcome.get("waiting") or 0
        if waiting:
            line += f"  ({waiting} waiting on their master store)"
        lines.append(line)
    return lines


def _run_line(run: RunRecord) -> str:
    """One line per run; the plan's ``stores`` count is left out, as the
    ``stores=`` list already says which stores (and so how many)."""
    finished = run.finished_at.isoformat(timespec="seconds") if run.finished_at else "-"
    counts = " ".join(
        f"{key}={value}"
        for key, value in sorted(run.summary.items())
        if key != "stores"
    )
    stores = ",".join(run.stores) or "-"
    started = run.started_at.isoformat(timespec="seconds")
    return (
        f"run {run.id}  {run.kind.value:<6} {run.status.value:<9} {started} -> "
        f"{finished}  stores={stores}  {counts}".rstrip()
    )


def _entry_line(entry: JournalEntry) -> str:
    message = f"  ({entry.message})" if entry.message else ""
    return (
        f"  {entry.store} {entry.sku} {entry.target}.{entry.field}: "
        f"{entry.before or NONE} -> {entry.after or NONE}  {entry.outcome}{message}"
    )


def _as_markdown(found: Found) -> str:
    """A table of the runs, and one of the journal when a run was asked for."""
    runs, entries = found
    if not runs:
        return "No runs yet."
    lines = [
        "| run | kind | status | started | finished | stores | summary |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        row = _run_json(run)
        summary = " ".join(f"{k}={v}" for k, v in row["summary"].items())
        cells = [
            str(run.id),
            row["kind"],
            row["status"],
            row["started_at"],
            row["finished_at"] or NONE,
            ", ".join(run.stores) or NONE,
            summary or NONE,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if entries:
        lines += ["", *_journal_markdown(entries)]
    return "\n".join(lines)


def _journal_markdown(entries: list[JournalEntry]) -> list[str]:
    lines = [
        "| store | SKU | field | before | after | outcome | message |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for entry in entries:
        cells = [
            entry.store,
            f"`{entry.sku}`",
            f"{entry.target}.{entry.field}",
            entry.before or NONE,
            entry.after or NONE,
            entry.outcome,
            (entry.message or "").replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _as_json(found: Found, run_id: int | None) -> Any:
    runs, entries = found
    if run_id is None:
        return [_run_json(run) for run in runs]
    return {
        **_run_json(runs[0]),
        "stores_outcome": _outcomes(runs[0]),
        "journal": [_entry_json(e) for e in entries],
    }


def _run_json(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind.value,
        "status": run.status.value,
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "finished_at": (
            run.finished_at.isoformat(timespec="seconds") if run.finished_at else None
        ),
        "stores": list(run.stores),
        "summary": {k: v for k, v in sorted(run.summary.items()) if k != "stores"},
    }


def _entry_json(entry: JournalEntry) -> dict[str, Any]:
    return {
        "store": entry.store,
        "sku": entry.sku,
        "target": entry.target,
        "field": entry.field,
        "before": journaled_value(entry.field, entry.before),
        "after": journaled_value(entry.field, entry.after),
        "outcome": entry.outcome,
        "message": entry.message,
        "at": entry.at.isoformat(timespec="seconds"),
    }


def journaled_value(field: str, text: str | None) -> int | bool | str | None:
    """A journaled value in the plan's type: a number for a quantity, a
    boolean for a flag; text the field does not explain stays text."""
    if text is None:
        return None
    if field in FLAG_FIELDS and text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        return text


def _fail(message: str) -> NoReturn:
    click.echo(f"reconcile history: {message}", err=True)
    sys.exit(EXIT_ERROR)

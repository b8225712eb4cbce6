"""``reconcile import FILE.csv``: an import batch of hub records, then a push.

The rows go to the hub in one transaction, journaled as an import run; then
those SKUs are pushed to every store where the hub is master, manual-mode
ones included (this is how manual items are synced in bulk). A SKU whose
master is a store still takes the batch's values in the hub, and the next
pass replaces them with the store's: the command says which SKUs those are.

A file with any refused row changes nothing and lists every refused row.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

import click

from reconciler.apply.executor import utc_now
from reconciler.cli import (
    EXIT_ERROR,
    allow_mass_change_option,
    config_option,
    format_option,
    main,
    state_option,
)
from reconciler.config.model import Direction
from reconciler.errors import ConfigInvalid, ImportRefused, StopRun
from reconciler.hub import open_state
from reconciler.hub.imports import (
    ImportBatch,
    apply_import,
    batch_records,
    parse_import,
)
from reconciler.hub.records import (
    HubRecord,
    JournalEntry,
    RunKind,
    RunStatus,
)
from reconciler.policy import Policy, load_policy
from reconciler.report import render_result
from reconciler.report.progress import Progress
from reconciler.runner import PassOptions, run_pass

SHOWN = 10
"""Hub changes listed one per line before the rest are counted."""


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@state_option
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--yes", is_flag=True, help="Apply without asking for confirmation.")
@allow_mass_change_option
@format_option
def import_command(
    file: Path,
    config_dir: str,
    state_url: str | None,
    dry_run: bool,
    yes: bool,
    allow_mass_change: tuple[str, ...],
    output_format: str,
) -> None:
    """Import hub records from FILE (CSV), then push them where the hub is master.

    Columns: sku, quantity_available, and optionally manage_inventory and
    vendor. A file with any refused row changes nothing. Applying asks for
    confirmation on a terminal; without one it needs --yes.
    """
    if not dry_run and not yes and not sys.stdin.isatty():
        _fail("pass --yes to import without a terminal (or --dry-run to look)")
    policy = _load(config_dir)
    batch = _parse(file)
    url = state_url or policy.repository.settings.state_url

    source = f"import:{file.name}"
    records = _preview(batch, url, source=source)
    pushed, mastered = _split_by_master(policy, records)
    to_stderr = output_format != "text"  # keep stdout clean JSON / Markdown
    _print_hub_changes(records, file, dry_run=dry_run, err=to_stderr)
    _print_mastered(mastered, err=to_stderr)

    if not dry_run and not yes:
        click.confirm("Import these records and push them?", abort=True, err=True)
    if not dry_run:
        _write(url, batch, records, source=source)
    options = PassOptions(
        state_url=url,
        skus=tuple(pushed),
        include_manual=True,
        dry_run=dry_run,
        full_read=True,
        allow_mass_change=allow_mass_change,
        hub_overlay={c.record.sku: c.record for c in records if dry_run},
    )
    _push(config_dir, options, output_format, pushed)


# --- steps -------------------------------------------------------------------


def _load(config_dir: str) -> Policy:
    try:
        return load_policy(config_dir)
    except ConfigInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        _fail(str(invalid))


def _parse(file: Path) -> ImportBatch:
    if not file.is_file():
        _fail(f"{file}: no such file")
    try:
        return parse_import(file)
    except ImportRefused as refused:
        for problem in refused.problems:
            click.echo(f"{refused.path}: {problem}", err=True)
        _fail(f"{refused}; nothing was imported")


def _preview(batch: ImportBatch, url: str, *, source: str) -> list[_Change]:
    """The records the batch would write, each with the hub's current one."""
    current = _current_records(url, batch.skus)
    records = batch_records(batch, current, source=source, now=utc_now())
    return [_Change(record, current.get(record.sku)) for record in records]


def _current_records(url: str, skus: Sequence[str]) -> dict[str, HubRecord]:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not Path(url.removeprefix(prefix)).exists():
        return {}
    try:
        state = open_state(url)
    except StopRun as error:
        _fail(str(error))
    try:
        return state.hub_records(skus)
    finally:
        state.close()


def _split_by_master(
    policy: Policy, changes: Sequence[_Change]
) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """SKUs to push (no store is master) and SKUs a store is master of."""
    pushed: list[str] = []
    mastered: list[tuple[str, list[str]]] = []
    stores = [config.name for config in policy.stores()]
    for change in changes:
        sku, vendor = change.record.sku, change.record.vendor
        masters = [
            store
            for store in stores
            if policy.for_sku(store, sku, vendor).direction.value
            is Direction.CHANNEL_TO_HUB
        ]
        if masters:
            mastered.append((sku, masters))
        else:
            pushed.append(sku)
    return pushed, mastered


def _write(
    url: str, batch: ImportBatch, changes: Sequence[_Change], *, source: str
) -> None:
    """The batch into the hub in one transaction, journaled as an import run."""
    try:
        state = open_state(url)
    except StopRun as error:
        _fail(str(error))
    try:
        run_id = state.start_run(RunKind.IMPORT, [])
        written = apply_import(state, batch, source=source)
        state.journal(_journal(run_id, source, written, changes))
        summary = {"rows": len(written), "changed": _count_changed(changes)}
        state.finish_run(run_id, RunStatus.SUCCEEDED, summary)
    finally:
        state.close()


def _push(
    config_dir: str, options: PassOptions, output_format: str, pushed: list[str]
) -> None:
    if not pushed:
        click.echo(
            "No SKU of this batch has the hub as master; nothing to push.",
            err=output_format != "text",
        )
        return
    try:
        result = run_pass(config_dir, options, progress=Progress.for_stream(sys.stderr))
    except StopRun as error:
        _fail(str(error))
    click.echo(render_result(result, output_format))
    sys.exit(result.exit_code)


# --- what the batch changes in the hub --------------------------------------


class _Change:
    """A record the batch writes and the hub's record before it (or None)."""

    __slots__ = ("before", "record")

    def __init__(self, record: HubRecord, before: HubRecord | None) -> None:
        self.record = record
        self.before = before

    @property
    def changed(self) -> bool:
        before = self.before
        return before is None or (
            before.quantity_available,
            before.manage_inventory,
            before.vendor,
        ) != (
            self.record.quantity_available,
            self.record.manage_inventory,
            self.record.vendor,
        )

    def describe(self) -> str:
        record, before = self.record, self.before
        if before is None:
            return (
                f"  + {record.sku}: quantity_available {record.quantity_available}, "
                f"manage_inventory {str(record.manage_inventory).lower()} [new]"
            )
        parts = []
        if before.quantity_available != record.quantity_available:
            parts.append(
                f"quantity_available {before.quantity_available} -> "
                f"{record.quantity_available}"
            )
        if before.manage_inventory != record.manage_inventory:
            parts.append(
                f"manage_inventory {str(before.manage_inventory).lower()} -> "
                f"{str(record.manage_inventory).lower()}"
            )
        if before.vendor != record.vendor:
            parts.append(f"vendor {before.vendor or '-'} -> {record.vendor or '-'}")
        return f"  ~ {record.sku}: " + ", ".join(parts)


def _count_changed(changes: Sequence[_Change]) -> int:
    return sum(1 for change in changes if change.changed)


def _print_hub_changes(
    changes: Sequence[_Change], file: Path, *, dry_run: bool, err: bool
) -> None:
    changed = [change for change in changes if change.changed]
    new = sum(1 for change in changed if change.before is None)
    verb = "would change" if dry_run else "changes"
    click.echo(
        f"Import {file}: {len(changes):,} rows; {verb} {len(changed):,} hub "
        f"records ({new:,} new).",
        err=err,
    )
    for change in changed[:SHOWN]:
        click.echo(change.describe(), err=err)
    if len(changed) > SHOWN:
        click.echo(f"  ... and {len(changed) - SHOWN:,} more", err=err)


def _print_mastered(mastered: Sequence[tuple[str, list[str]]], *, err: bool) -> None:
    if not mastered:
        return
    first = ", ".join(sku for sku, _ in mastered[:5])
    more = f", +{len(mastered) - 5:,} more" if len(mastered) > 5 else ""
    stores = sorted({store for _, masters in mastered for store in masters})
    count = "1 SKU has" if len(mastered) == 1 else f"{len(mastered):,} SKUs have"
    click.echo(
        f"{count} a master store ({', '.join(stores)}): "
        f"{first}{more}. The hub takes the batch's values now; the next pass "
        "replaces them with the store's.",
        err=err,
    )


def _journal(
    run_id: int,
    source: str,
    written: Sequence[HubRecord],
    changes: Sequence[_Change],
) -> list[JournalEntry]:
    before = {change.record.sku: change.before for change in changes}
    entries: list[JournalEntry] = []
    for record in written:
        old = before.get(record.sku)
        fields = _fields(old, record)
        entries.extend(
            JournalEntry(
                run_id=run_id,
                store=source,
                sku=record.sku,
                target="hub",
                field=name,
                before=was,
                after=now,
                outcome="applied",
                message=None,
                at=record.changed_at,
            )
            for name, was, now in fields
        )
    return entries


def _fields(
    old: HubRecord | None, new: HubRecord
) -> list[tuple[str, str | None, str | None]]:
    pairs: Mapping[str, tuple[object, object]] = {
        "quantity_available": (
            old.quantity_available if old else None,
            new.quantity_available,
        ),
        "manage_inventory": (
            old.manage_inventory if old else None,
            new.manage_inventory,
        ),
    }
    return [
        (name, _text(was), _text(now))
        for name, (was, now) in pairs.items()
        if was != now
    ]


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _fail(message: str) -> NoReturn:
    click.echo(f"reconcile import: {message}", err=True)
    sys.exit(EXIT_ERROR)

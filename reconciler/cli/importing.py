"""``reconcile import FILE.csv``: an import batch of hub records, then a push.

The rows go to the hub in one transaction, journaled as an import run; then
those SKUs are pushed to every store where the hub is master, manual-mode
ones included (this is how manual items are synced in bulk). A SKU whose
master is a store still takes the batch's values in the hub, and the next
pass replaces them with the store's: the command says which SKUs those are.

A file with any refused row changes nothing and lists every refused row.
So does a batch whose push would trip a store's guard: the push is planned
first, from the records the batch would write, and only a plan every store's
guard lets through (or ``--allow-mass-change STORE`` overrides) is imported.
Importing first and pushing after would leave the hub disagreeing with the
stores it could not write.

With ``--format json`` (or ``markdown``) stdout always gets one document: the
push's plan, a refusal, an error (``reconciler/report/documents.py``), or,
when no SKU of the batch has the hub as master, a summary of the import.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
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
from reconciler.errors import (
    ConfigInvalid,
    ImportRefused,
    StopRun,
)
from reconciler.hub import open_state
from reconciler.hub.imports import (
    ImportBatch,
    apply_import,
    batch_records,
    check_against_hub,
    parse_import,
)
from reconciler.hub.records import (
    HubRecord,
    JournalEntry,
    RunKind,
    RunStatus,
)
from reconciler.plan.model import GuardVerdict
from reconciler.policy import Policy, load_policy
from reconciler.report import render_result
from reconciler.report.documents import (
    USAGE_ERROR,
    ImportSummary,
    config_invalid,
    failure,
    import_summary,
    kind_of,
    render_document,
)
from reconciler.report.progress import Progress
from reconciler.runner import EXIT_OK, PassOptions, PassResult, run_pass

SHOWN = 10
"""Hub changes listed one per line before the rest are counted."""
SHOWN_IN_MARKDOWN = 50
"""Refused rows in a Markdown table before the rest are counted."""
REFUSAL_SCHEMA_VERSION = "1"

log = logging.getLogger(__name__)


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
    vendor (a vendor of the config). A file with any refused row changes
    nothing, and neither does a batch whose push would trip a store's guard
    (unless --allow-mass-change STORE is given for each such store).
    Applying asks for confirmation on a terminal; without one it needs --yes.
    Answering no prints "Nothing applied." and exits 1; nothing is written.

    \b
    With --format json, a refused file prints on stdout:
      {"schema_version": "1", "kind": "import_refused", "file": PATH,
       "problems": [{"line": 2, "column": "sku", "message": "..."}, ...]}
    (line 1 is the header; a column in parentheses, such as "(row)" or
    "(header)", is about the row or file as a whole). With --format
    markdown it prints a table of the same problems. Either way the human
    lines go to stderr, and a push stopped by a guard prints its plan.
    Other errors print {"schema_version": "1", "kind": KIND, ...} with KIND
    config_invalid, state_error or usage_error, and a batch with nothing to
    push prints its import_summary (reconciler/schemas/errors.schema.json).
    """
    if not dry_run and not yes and not sys.stdin.isatty():
        _fail(
            "pass --yes to import without a terminal (or --dry-run to look)",
            output_format,
            USAGE_ERROR,
        )
    policy = _load(config_dir, output_format)
    url = state_url or policy.repository.settings.state_url
    folded = _case_insensitive_stores(policy)
    batch = _parse(file, policy, folded, output_format)
    current = _current_records(url, batch.skus, output_format, every_sku=bool(folded))
    _check_against_hub(batch, current, folded, output_format)

    source = f"import:{file.name}"
    records = _preview(batch, current, source=source)
    pushed, mastered = _split_by_master(policy, records)
    to_stderr = output_format != "text"  # keep stdout clean JSON / Markdown
    _print_hub_changes(records, file, err=to_stderr)
    _print_mastered(mastered, err=to_stderr)
    _print_master_moves(policy, records, err=to_stderr)

    plan = PassOptions(
        state_url=url,
        skus=tuple(pushed),
        include_manual=True,
        dry_run=True,
        full_read=True,
        allow_mass_change=allow_mass_change,
        hub_overlay={change.record.sku: change.record for change in records},
    )
    summary = _summary(file, records, mastered, dry_run=dry_run)
    if dry_run:
        _show_plan(config_dir, plan, output_format, pushed)
        _print_document(import_summary(summary), output_format)
        return
    _refuse_past_guard(config_dir, plan, output_format, pushed)

    if not yes and not click.confirm("Import these records and push them?", err=True):
        click.echo("Nothing applied.", err=True)
        sys.exit(EXIT_ERROR)
    run_id = _write(url, batch, records, output_format, source=source)
    click.echo(
        f"Imported into the hub as run {run_id}: "
        f"{_count(_count_changed(records), 'hub record')} changed.",
        err=to_stderr,
    )
    push = replace(plan, dry_run=False, hub_overlay=None, after_run=run_id)
    _push(config_dir, push, output_format, pushed)
    _print_document(import_summary(summary), output_format)


# --- steps -------------------------------------------------------------------


def _load(config_dir: str, output_format: str) -> Policy:
    try:
        return load_policy(config_dir)
    except ConfigInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        _print_document(config_invalid(invalid.problems), output_format)
        _fail(str(invalid))


def _case_insensitive_stores(policy: Policy) -> tuple[str, ...]:
    """The stores matching SKUs regardless of letter case (Magento)."""
    return tuple(config.name for config in policy.stores() if config.casefold_skus)


def _parse(
    file: Path, policy: Policy, folded: Sequence[str], output_format: str
) -> ImportBatch:
    if not file.is_file():
        _fail(f"{file}: no such file", output_format, USAGE_ERROR)
    try:
        return parse_import(
            file, vendors=policy.repository.vendors, case_insensitive=folded
        )
    except ImportRefused as refused:
        _refused(refused, output_format)


def _check_against_hub(
    batch: ImportBatch,
    current: Mapping[str, HubRecord],
    folded: Sequence[str],
    output_format: str,
) -> None:
    try:
        check_against_hub(batch, current, folded)
    except ImportRefused as refused:
        _refused(refused, output_format)


SHOWN_REFUSALS = 50
"""Refused rows listed on stderr; the JSON document lists every one."""


def _refused(refused: ImportRefused, output_format: str) -> NoReturn:
    """The first problems on stderr, then how many more and by what reason;
    on stdout a document (every problem) for json and markdown."""
    for problem in refused.problems[:SHOWN_REFUSALS]:
        click.echo(f"{refused.path}: {problem}", err=True)
    rest = refused.problems[SHOWN_REFUSALS:]
    if rest:
        reasons = Counter(_reason(problem.message) for problem in rest)
        kinds = ", ".join(f"{n:,} {reason}" for reason, n in reasons.most_common(3))
        click.echo(
            f"{refused.path}: ... and {len(rest):,} more refused rows ({kinds}); "
            f"`--format json` lists every one",
            err=True,
        )
    if output_format == "json":
        click.echo(json.dumps(_refusal_document(refused), indent=2))
    elif output_format == "markdown":
        click.echo(_refusal_markdown(refused))
    _fail(f"{refused}; nothing was imported")


def _reason(message: str) -> str:
    """A refusal's message without the values it names, to count alike ones."""
    general = re.sub(r"\s*\(.*\)\s*$", "", message)
    return re.sub(r"'[^']*'|`[^`]*`|\"[^\"]*\"|-?\d[\d.,]*", "…", general).strip()


def _refusal_document(refused: ImportRefused) -> dict[str, object]:
    return {
        "schema_version": REFUSAL_SCHEMA_VERSION,
        "kind": "import_refused",
        "file": refused.path,
        "problems": [
            {"line": p.line, "column": p.column, "message": p.message}
            for p in refused.problems
        ],
    }


def _refusal_markdown(refused: ImportRefused) -> str:
    """A table of the first ``SHOWN_IN_MARKDOWN`` problems, the rest counted."""
    problems = refused.problems
    lines = [
        f"### Import refused: `{refused.path}`",
        "",
        f"Nothing was imported: {refused}.",
        "",
        "| line | column | problem |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {p.line} | {_cell(p.column)} | {_cell(p.message)} |"
        for p in problems[:SHOWN_IN_MARKDOWN]
    ]
    if len(problems) > SHOWN_IN_MARKDOWN:
        lines += ["", f"... and {len(problems) - SHOWN_IN_MARKDOWN:,} more."]
    return "\n".join(lines)


def _cell(text: str) -> str:
    """``text`` safe in one Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _preview(
    batch: ImportBatch, current: Mapping[str, HubRecord], *, source: str
) -> list[_Change]:
    """The records the batch would write, each with the hub's current one."""
    records = batch_records(batch, current, source=source, now=utc_now())
    return [_Change(record, current.get(record.sku)) for record in records]


def _current_records(
    url: str, skus: Sequence[str], output_format: str, *, every_sku: bool
) -> dict[str, HubRecord]:
    """The hub's records of ``skus``, or of every SKU when ``every_sku`` (to
    compare the batch's SKUs with the hub's regardless of letter case)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not Path(url.removeprefix(prefix)).exists():
        return {}
    try:
        state = open_state(url, migrate=False)
    except StopRun as error:
        _fail(str(error), output_format, kind_of(error))
    try:
        return state.hub_records(None if every_sku else skus)
    finally:
        state.close()


def _split_by_master(
    policy: Policy, changes: Sequence[_Change]
) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """SKUs to push (no store is master) and SKUs a store is master of."""
    pushed: list[str] = []
    mastered: list[tuple[str, list[str]]] = []
    for change in changes:
        sku = change.record.sku
        masters = _masters(policy, sku, change.record.vendor)
        if masters:
            mastered.append((sku, masters))
        else:
            pushed.append(sku)
    return pushed, mastered


def _masters(policy: Policy, sku: str, vendor: str | None) -> list[str]:
    """The stores master of ``sku`` when its vendor is ``vendor``."""
    return [
        config.name
        for config in policy.stores()
        if policy.for_sku(config.name, sku, vendor).direction.value
        is Direction.CHANNEL_TO_HUB
    ]


def _write(
    url: str,
    batch: ImportBatch,
    changes: Sequence[_Change],
    output_format: str,
    *,
    source: str,
) -> int:
    """The batch into the hub in one transaction, journaled as an import run;
    the run's id."""
    try:
        state = open_state(url)
    except StopRun as error:
        _fail(str(error), output_format, kind_of(error))
    try:
        run_id = state.start_run(RunKind.IMPORT, [])
        written = apply_import(state, batch, source=source)
        state.journal(_journal(run_id, source, written, changes))
        summary = {"rows": len(written), "changed": _count_changed(changes)}
        state.finish_run(run_id, RunStatus.SUCCEEDED, summary)
    finally:
        state.close()
    return run_id


def _show_plan(
    config_dir: str, options: PassOptions, output_format: str, pushed: list[str]
) -> None:
    """A dry run: the push's plan, and exit 1 when a guard would refuse it."""
    result = _run_pass(config_dir, options, output_format, pushed)
    if result is None:
        return
    click.echo(render_result(result, output_format))
    blocked = _blocking_guards(result)
    if blocked:
        _fail(f"the import would be refused: {_guard_refusal(blocked)}")
    sys.exit(result.exit_code)


def _refuse_past_guard(
    config_dir: str, options: PassOptions, output_format: str, pushed: list[str]
) -> None:
    """Plan the push before anything is written; refuse the whole import,
    printing that plan, when any store's guard would stop it."""
    result = _run_pass(config_dir, options, output_format, pushed, quiet=True)
    blocked = _blocking_guards(result) if result is not None else []
    if not blocked or result is None:
        return
    log.warning(
        "event=import.refused reason=guard stores=%s",
        ",".join(verdict.store for verdict in blocked),
    )
    click.echo(render_result(result, output_format))
    _fail(f"nothing was imported: {_guard_refusal(blocked)}")


def _blocking_guards(result: PassResult) -> list[GuardVerdict]:
    return [
        store.guard
        for store in result.plan.stores
        if store.guard is not None and store.guard.blocks
    ]


def _guard_refusal(blocked: Sequence[GuardVerdict]) -> str:
    """``the push would trip the guard of STORE (...); pass ...``."""
    trips = " and of ".join(
        f"{verdict.store} ({_guard_figures(verdict)})" for verdict in blocked
    )
    flags = " ".join(f"--allow-mass-change {verdict.store}" for verdict in blocked)
    return f"the push would trip the guard of {trips}; pass {flags} to import anyway"


def _guard_figures(verdict: GuardVerdict) -> str:
    zeroed_at = verdict.zeroed_at or "by default"
    changed_at = verdict.changed_at or "by default"
    return (
        f"zeroes {verdict.zeroed:,} and changes {verdict.changed:,} of "
        f"{verdict.managed:,} managed SKUs; guard.max_zeroed "
        f"{verdict.max_zeroed:.0%} ({zeroed_at}), guard.max_changed "
        f"{verdict.max_changed:.0%} ({changed_at})"
    )


def _push(
    config_dir: str, options: PassOptions, output_format: str, pushed: list[str]
) -> None:
    result = _run_pass(config_dir, options, output_format, pushed)
    if result is None:
        return
    click.echo(render_result(result, output_format))
    if result.exit_code != EXIT_OK:
        click.echo(
            f"reconcile import: the hub keeps the batch's records; the push of "
            f"{_count(len(pushed), 'SKU')} did not finish everywhere (see above), "
            f"and the next pass pushes what is left",
            err=True,
        )
    sys.exit(result.exit_code)


def _run_pass(
    config_dir: str,
    options: PassOptions,
    output_format: str,
    pushed: list[str],
    *,
    quiet: bool = False,
) -> PassResult | None:
    """The push's pass; None (said unless ``quiet``) when nothing is pushed."""
    if not pushed:
        if not quiet:
            click.echo(
                "No SKU of this batch has the hub as master; nothing to push.",
                err=output_format != "text",
            )
        return None
    try:
        return run_pass(config_dir, options, progress=Progress.for_stream(sys.stderr))
    except StopRun as error:
        _fail(str(error), output_format, kind_of(error))


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


def _print_hub_changes(changes: Sequence[_Change], file: Path, *, err: bool) -> None:
    """Said before anything is written (and before the guard or the prompt
    may stop the import), so always as what the import would change."""
    changed = [change for change in changes if change.changed]
    new = sum(1 for change in changed if change.before is None)
    click.echo(
        f"Import {file}: {_count(len(changes), 'row')}; would change "
        f"{_count(len(changed), 'hub record')} ({new:,} new).",
        err=err,
    )
    for change in changed[:SHOWN]:
        click.echo(change.describe(), err=err)
    if len(changed) > SHOWN:
        click.echo(f"  ... and {len(changed) - SHOWN:,} more", err=err)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'s' * (number != 1)}"


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


def _print_master_moves(
    policy: Policy, changes: Sequence[_Change], *, err: bool
) -> None:
    """Warn of each SKU whose new vendor gives it other master stores."""
    for change in changes:
        before, record = change.before, change.record
        if before is None or before.vendor == record.vendor:
            continue
        was = _masters(policy, record.sku, before.vendor)
        now = _masters(policy, record.sku, record.vendor)
        if was != now:
            click.echo(
                f"warning: {record.sku} moves from vendor {before.vendor or '-'} "
                f"to {record.vendor or '-'}, so its master store changes: "
                f"{_master_text(was)} -> {_master_text(now)}",
                err=err,
            )


def _master_text(masters: Sequence[str]) -> str:
    return ", ".join(masters) if masters else "none (the hub)"


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


def _summary(
    file: Path,
    changes: Sequence[_Change],
    mastered: Sequence[tuple[str, list[str]]],
    *,
    dry_run: bool,
) -> ImportSummary:
    changed = [change for change in changes if change.changed]
    return ImportSummary(
        file=str(file),
        dry_run=dry_run,
        rows=len(changes),
        changed=len(changed),
        new=sum(1 for change in changed if change.before is None),
        mastered=mastered,
    )


def _print_document(document: dict[str, object], output_format: str) -> None:
    """A document on stdout, for json and markdown (text has said it all)."""
    shown = render_document(document, output_format)
    if shown is not None:
        click.echo(shown)


def _fail(message: str, output_format: str = "text", kind: str = "") -> NoReturn:
    """``message`` on stderr, and as a ``kind`` document on stdout if given."""
    click.echo(f"reconcile import: {message}", err=True)
    if kind:
        _print_document(failure(kind, message), output_format)
    sys.exit(EXIT_ERROR)

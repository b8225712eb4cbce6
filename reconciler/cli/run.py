"""``reconcile [--dry-run]``: one pass, run by the root group without a command.

The plan (and, once applied, what became of it) goes to stdout in the chosen
format; errors and progress go to stderr. Applying asks for confirmation on
a terminal; without one it needs ``--yes``, so that a CI job never waits on a
prompt nobody answers. Answering no at the prompt prints ``Nothing applied.``
on stderr and exits 1: the pass did not do what it was asked to.

A pass stopped before it has a plan (invalid config, unusable state store,
usage mistake) prints its error on stderr and, with ``--format json`` or
``markdown``, a document on stdout too (``reconciler/report/documents.py``),
so that ``--format json > plan.json`` never leaves an empty file. A store
named with ``--store`` runs even when suspended, with a warning on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

from reconciler.cli import EXIT_ERROR
from reconciler.errors import ConfigInvalid, StopRun
from reconciler.plan.model import Plan
from reconciler.report import one_line, render, render_result
from reconciler.report.documents import (
    USAGE_ERROR,
    config_invalid,
    failure,
    kind_of,
    render_document,
)
from reconciler.report.progress import Progress
from reconciler.runner import PassOptions, PassResult, SuspendedStore, run_pass

NO_TERMINAL = "pass --yes to apply without a terminal"
DRY_RUN_AND_YES = "--dry-run and --yes contradict each other: a dry run applies nothing"
UNKNOWN_SKU = "SKU {sku!r} is neither in the hub nor on any selected store"
DECLINED = "Nothing applied."
NOT_SYNCED = (
    "{left.sku} is not synced on {left.store} (direction none, {left.source}); "
    "naming it changes nothing there"
)
SUSPENDED_NAMED = "{name} is suspended ({file}); running it because --store names it"


def run_command(
    *,
    dry_run: bool,
    yes: bool,
    config_dir: str,
    state_url: str | None,
    stores: tuple[str, ...],
    skus: tuple[str, ...],
    include_manual: bool,
    output_format: str,
    detailed_exitcode: bool,
    allow_mass_change: tuple[str, ...],
) -> None:
    """Run one pass and exit with its code (see ``reconciler.cli``)."""
    if dry_run and yes:
        _fail(DRY_RUN_AND_YES, output_format, USAGE_ERROR)
    ask = not dry_run and not yes
    if ask and not sys.stdin.isatty():
        _fail(NO_TERMINAL, output_format, USAGE_ERROR)

    options = PassOptions(
        state_url=state_url,
        stores=stores,
        skus=skus,
        include_manual=include_manual,
        dry_run=dry_run,
        detailed_exitcode=detailed_exitcode,
        allow_mass_change=allow_mass_change,
    )
    result, declined = _run(config_dir, options, output_format, ask=ask)
    _warn_suspended(result.suspended)
    if declined:
        click.echo(DECLINED, err=True)
        sys.exit(EXIT_ERROR)
    for sku in result.unknown_skus:
        click.echo(f"reconcile: warning: {UNKNOWN_SKU.format(sku=sku)}", err=True)
    for left in result.not_synced:
        click.echo(f"reconcile: {NOT_SYNCED.format(left=left)}", err=True)
    click.echo(render_result(result, output_format))
    _say_stops(result)
    sys.exit(result.exit_code)


def _say_stops(result: PassResult) -> None:
    """Each store a failure or its guard stopped, on stderr too: the report
    may have gone to a file or a pipe, and errors belong on stderr."""
    said: list[str] = [
        f"{failure.store}: {failure.stage}: {failure.message}"
        for failure in result.failures
    ]
    for store in result.plan.stores:
        guard = store.guard
        line = f"{store.store}: guard: {guard.message}" if guard else ""
        if guard is not None and guard.blocks and line not in said:
            said.append(line)
    for line in said:
        click.echo(f"reconcile: {one_line(line)}", err=True)


def _run(
    config_dir: str, options: PassOptions, output_format: str, *, ask: bool
) -> tuple[PassResult, bool]:
    """The pass's result, and whether the changes were declined at the prompt
    (the plan is then already on stdout)."""
    progress = Progress.for_stream(sys.stderr)
    answers: list[bool] = []

    def confirm(plan: Plan) -> bool:
        click.echo(render(plan, output_format))
        answers.append(click.confirm("Apply these changes?", default=False, err=True))
        return answers[-1]

    try:
        result = run_pass(
            Path(config_dir),
            options,
            progress=progress,
            confirm=confirm if ask else None,
        )
        return result, answers == [False]
    except ConfigInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        _print_document(config_invalid(invalid.problems), output_format)
        _fail(str(invalid))
    except StopRun as error:
        _fail(str(error), output_format, kind_of(error))


def _warn_suspended(suspended: Sequence[SuspendedStore]) -> None:
    for store in suspended:
        if store.named:
            warning = SUSPENDED_NAMED.format(name=store.name, file=store.file)
            click.echo(f"reconcile: {warning}", err=True)


def _print_document(document: dict[str, object], output_format: str) -> None:
    """The error document on stdout, for json and markdown (not text)."""
    shown = render_document(document, output_format)
    if shown is not None:
        click.echo(shown)


def _fail(message: str, output_format: str = "text", kind: str = "") -> NoReturn:
    """``message`` on stderr, and as a ``kind`` document on stdout if given."""
    click.echo(f"reconcile: {message}", err=True)
    if kind:
        _print_document(failure(kind, message), output_format)
    sys.exit(EXIT_ERROR)

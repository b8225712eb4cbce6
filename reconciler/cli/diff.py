"""``reconcile diff --base REV``: the effective policies a config change changes.

For a pull request: the config folder as it is (the working tree) against
the same folder at a git revision (``origin/main``). Both must be valid; an
invalid one is reported as ``validate`` would, naming which side. A revision
without the folder (the pull request that adds it) counts as no config: every
store is new. A SKU no vendor file lists takes its vendor from its hub record,
as in a pass, when the state store (``--state``) can be read; it is never
created or written. The base is extracted to a temporary folder, removed
afterwards; nothing else is written anywhere.

Exit 0 (with ``--detailed-exitcode``: 0 no change, 2 changes), 1 on an
invalid config or an unreadable revision. Output on stdout, errors on stderr;
with ``--format json`` or ``markdown`` an error is also a document on stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler.cli import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PENDING,
    config_option,
    env,
    main,
    state_option,
    text_or_json_option,
)
from reconciler.cli.explain import duration
from reconciler.config.revision import config_at
from reconciler.errors import (
    ConfigInvalid,
    ConfigProblem,
    NoConfigAtRevision,
    RevisionError,
    StateError,
)
from reconciler.hub import open_state
from reconciler.hub.state import sqlite_file_absent
from reconciler.policy import Policy, load_policy
from reconciler.policydiff import (
    PolicyDiff,
    ScopeSetting,
    SettingChange,
    StoreChange,
    diff_policies,
)
from reconciler.report.documents import (
    USAGE_ERROR,
    config_invalid,
    failure,
    render_document,
)
from reconciler.report.markdown import escape


@main.command()
@click.option(
    "--base",
    required=True,
    metavar="REV",
    envvar=env("--base"),
    show_envvar=True,
    help="The git revision to compare with: a branch, tag or commit (origin/main).",
)
@config_option
@state_option
@text_or_json_option("Changes for people, tools, or a pull-request comment.")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when any policy changes."
)
def diff(
    base: str,
    config_dir: str,
    state_url: str | None,
    output_format: str,
    detailed_exitcode: bool,
) -> None:
    """Which SKUs' effective policy the config changes against REV, and why."""
    after = _load(Path(config_dir), "the working tree", output_format)
    before = _base(base, Path(config_dir), output_format)
    url = state_url or after.repository.settings.state_url
    hub = _hub_vendors(url, _listed(before, after))

    changes = diff_policies(before, after, hub)
    click.echo(_render(changes, base, config_dir, output_format))
    sys.exit(EXIT_PENDING if detailed_exitcode and not changes.empty else EXIT_OK)


def _base(base: str, config_dir: Path, output_format: str) -> Policy | None:
    try:
        with config_at(base, config_dir) as folder:
            return _load(folder, base, output_format)
    except NoConfigAtRevision:
        return None
    except RevisionError as error:
        _fail(str(error), output_format)


def _load(folder: Path, side: str, output_format: str) -> Policy:
    try:
        return load_policy(folder)
    except ConfigInvalid as invalid:
        click.echo(f"reconcile diff: the config of {side} is invalid:", err=True)
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        _print(config_invalid(_sided(invalid.problems, side)), output_format)
        sys.exit(EXIT_ERROR)


def _sided(problems: Iterable[ConfigProblem], side: str) -> list[ConfigProblem]:
    """The problems, each message saying which config it is of."""
    return [
        ConfigProblem(p.path, p.line, p.column, f"({side}) {p.message}")
        for p in problems
    ]


def _fail(message: str, output_format: str) -> NoReturn:
    click.echo(f"reconcile diff: {message}", err=True)
    _print(failure(USAGE_ERROR, message), output_format)
    sys.exit(EXIT_ERROR)


def _print(document: dict[str, Any], output_format: str) -> None:
    shown = render_document(document, output_format)
    if shown is not None:
        click.echo(shown)


def _listed(before: Policy | None, after: Policy) -> list[str]:
    skus = set(after.repository.vendor_of)
    if before is not None:
        skus |= set(before.repository.vendor_of)
    return sorted(skus)


def _hub_vendors(url: str, skus: list[str]) -> dict[str, str | None]:
    """The hub records' vendors of ``skus``; none when there is no hub yet, or
    it cannot be read (said on stderr: the diff goes on without them)."""
    if not skus or sqlite_file_absent(url):
        return {}
    try:
        with open_state(url, migrate=False) as state:
            records = state.hub_records(skus)
    except StateError as error:
        click.echo(
            f"reconcile diff: warning: hub not read ({error}); a SKU's vendor "
            "comes from vendor files only",
            err=True,
        )
        return {}
    return {sku: record.vendor for sku, record in records.items()}


def _render(changes: PolicyDiff, base: str, config_dir: str, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(_as_json(changes, base), indent=2)
    if output_format == "markdown":
        return _as_markdown(changes, base)
    return _as_text(changes, base, config_dir)


# --- words ---------------------------------------------------------------------


def _scope(change: SettingChange) -> str:
    if change.sku is not None:
        if change.vendor_before != change.vendor:
            old, new = change.vendor_before or "none", change.vendor or "none"
            return f"{change.sku} (vendor {old} -> {new})"
        return change.sku
    if change.vendor is None:
        return "SKUs of no vendor"
    if change.vendor_file is not None:
        return f"SKUs of vendor {change.vendor} (vendor file {change.vendor_file})"
    return f"SKUs of vendor {change.vendor} that do not set {change.setting} themselves"


def _vendor_scope(vendor: str | None) -> str:
    return "SKUs of no vendor" if vendor is None else f"SKUs of vendor {vendor}"


def _value(setting: str, value: Any) -> str:
    if value is None:
        return "from hub"
    if setting == "interval":
        return duration(int(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'s' * (count != 1)}"


def _summary(changes: PolicyDiff) -> str:
    stores = len({change.store for change in changes.changes})
    parts = []
    if changes.changes:
        parts.append(
            f"{_counted(len(changes.changes), 'setting change')} on "
            f"{_counted(stores, 'store')}"
        )
    if changes.added:
        parts.append(f"{_counted(len(changes.added), 'store')} added")
    if changes.removed:
        parts.append(f"{_counted(len(changes.removed), 'store')} removed")
    return "; ".join(parts) + "."


def _master_of(store: StoreChange) -> str:
    if not store.master_of:
        return "it was master of no SKUs"
    scopes = ", ".join(_vendor_scope(vendor) for vendor in store.master_of)
    return f"it was the master of {scopes}; their hub records lose that feed"


# --- text ----------------------------------------------------------------------


def _as_text(changes: PolicyDiff, base: str, config_dir: str) -> str:
    if changes.empty:
        return f"No policy changes against {base}."

    lines = [f"Policy changes, {base} -> the working tree ({config_dir}):"]
    if changes.base_missing:
        lines.append(f"({base} has no config folder: every store is new)")
    for store in changes.added:
        lines.append(f"+ store {store.store} (new)")
        lines += [f"    {_setting_text(each)}" for each in store.settings]
    lines += [
        f"- store {store.store} (removed): {_master_of(store)}"
        for store in changes.removed
    ]
    for name in dict.fromkeys(change.store for change in changes.changes):
        lines += ["", f"store {name}"]
        lines += [
            f"  {_scope(change)}: {change.setting} "
            f"{_value(change.setting, change.before)} -> "
            f"{_value(change.setting, change.after)}  ({change.source})"
            for change in changes.changes
            if change.store == name
        ]
    lines += ["", _summary(changes)]
    return "\n".join(lines)


def _setting_text(each: ScopeSetting) -> str:
    value = _value(each.setting, each.value)
    return f"{_vendor_scope(each.vendor)}: {each.setting} {value}  ({each.source})"


# --- markdown and JSON ------------------------------------------------------------


def _as_markdown(changes: PolicyDiff, base: str) -> str:
    if changes.empty:
        return f"No policy changes against `{escape(base)}`."

    lines = [f"### Policy changes against `{escape(base)}`", ""]
    for store in changes.added:
        lines.append(f"- store `{store.store}` added:")
        lines += [f"  - {escape(_setting_text(each))}" for each in store.settings]
    lines += [
        f"- store `{store.store}` removed: {escape(_master_of(store))}"
        for store in changes.removed
    ]
    if changes.stores:
        lines.append("")
    if changes.changes:
        lines += [
            "| store | SKUs | setting | before | after | set by |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += _rows_within(changes.changes, MARKDOWN_BUDGET - _size(lines))
    lines += ["", _summary(changes)]
    return "\n".join(lines)


MARKDOWN_BUDGET = 20_000
"""Characters the Markdown's table rows may take: a pull request's comment
holds 65,536, and it carries the plan too."""


def _rows_within(changes: tuple[SettingChange, ...], budget: int) -> list[str]:
    """The table's rows while they fit, then how many more there are."""
    rows: list[str] = []
    for shown, change in enumerate(changes):
        row = (
            f"| {change.store} | {escape(_scope(change))} | {change.setting} "
            f"| {_value(change.setting, change.before)} "
            f"| {_value(change.setting, change.after)} | {escape(change.source)} |"
        )
        if budget - len(row) - 1 < 0:
            rest = len(changes) - shown
            rows += [
                "",
                f"…and {rest:,} more (the text and JSON outputs list every one).",
            ]
            break
        budget -= len(row) + 1
        rows.append(row)
    return rows


def _size(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _as_json(changes: PolicyDiff, base: str) -> dict[str, Any]:
    return {
        "base": base,
        "base_has_config": not changes.base_missing,
        "stores_added": [
            {
                "store": store.store,
                "settings": [
                    {
                        "vendor": each.vendor,
                        "setting": each.setting,
                        "value": each.value,
                        "source": each.source,
                    }
                    for each in store.settings
                ],
            }
            for store in changes.added
        ],
        "stores_removed": [
            {"store": store.store, "master_of": list(store.master_of)}
            for store in changes.removed
        ],
        "changes": [_change_json(change) for change in changes.changes],
    }


def _change_json(change: SettingChange) -> dict[str, Any]:
    return {
        "store": change.store,
        "scope": change.scope,
        "vendor": change.vendor,
        "vendor_before": change.vendor_before
        if change.sku is not None
        else change.vendor,
        "vendor_file": change.vendor_file,
        "sku": change.sku,
        "setting": change.setting,
        "before": change.before,
        "after": change.after,
        "source": change.source,
    }

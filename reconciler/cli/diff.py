"""``reconcile diff --base REV``: the effective policies a config change changes.

For a pull request: the config folder as it is (the working tree) against
the same folder at a git revision (``origin/main``). Both must be valid; an
invalid one is reported as ``validate`` would, naming which side. Reads the
two configs only; writes nothing anywhere (the base is extracted to a
temporary folder, removed afterwards).

Exit 0 (with ``--detailed-exitcode``: 0 no change, 2 changes), 1 on an
invalid config or an unreadable revision. Output on stdout, errors on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from reconciler.cli import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PENDING,
    config_option,
    env,
    main,
    text_or_json_option,
)
from reconciler.cli.explain import duration
from reconciler.config.revision import config_at
from reconciler.errors import ConfigInvalid, RevisionError
from reconciler.policy import Policy, load_policy
from reconciler.policydiff import PolicyDiff, SettingChange, diff_policies
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
@text_or_json_option("Changes for people, tools, or a pull-request comment.")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when any policy changes."
)
def diff(
    base: str, config_dir: str, output_format: str, detailed_exitcode: bool
) -> None:
    """Which SKUs' effective policy the config changes against REV, and why."""
    after = _load(Path(config_dir), "the working tree")
    try:
        with config_at(base, Path(config_dir)) as folder:
            before = _load(folder, f"{base}")
    except RevisionError as error:
        click.echo(f"reconcile diff: {error}", err=True)
        sys.exit(EXIT_ERROR)

    changes = diff_policies(before, after)
    click.echo(_render(changes, base, config_dir, output_format))
    sys.exit(EXIT_PENDING if detailed_exitcode and not changes.empty else EXIT_OK)


def _load(folder: Path, side: str) -> Policy:
    try:
        return load_policy(folder)
    except ConfigInvalid as invalid:
        click.echo(f"reconcile diff: the config of {side} is invalid:", err=True)
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_ERROR)


def _render(changes: PolicyDiff, base: str, config_dir: str, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(_as_json(changes, base), indent=2)
    if output_format == "markdown":
        return _as_markdown(changes, base)
    return _as_text(changes, base, config_dir)


# --- text ----------------------------------------------------------------------


def _as_text(changes: PolicyDiff, base: str, config_dir: str) -> str:
    if changes.empty:
        return f"No policy changes against {base}."

    lines = [f"Policy changes, {base} -> the working tree ({config_dir}):"]
    lines += [f"+ store {store} (new)" for store in changes.stores_added]
    lines += [f"- store {store} (removed)" for store in changes.stores_removed]
    for store in _stores_of(changes):
        lines += ["", f"store {store}"]
        lines += [
            f"  {_scope(change)}: {change.setting} {_value(change, change.before)}"
            f" -> {_value(change, change.after)}  ({change.source})"
            for change in changes.changes
            if change.store == store
        ]
    lines += ["", _summary(changes)]
    return "\n".join(lines)


def _stores_of(changes: PolicyDiff) -> list[str]:
    return list(dict.fromkeys(change.store for change in changes.changes))


def _scope(change: SettingChange) -> str:
    if change.sku is None:
        if change.vendor is None:
            return "SKUs of no vendor"
        return f"SKUs of vendor {change.vendor} without overrides"
    if change.vendor_before != change.vendor:
        old, new = change.vendor_before or "none", change.vendor or "none"
        return f"{change.sku} (vendor {old} -> {new})"
    return change.sku


def _value(change: SettingChange, value: Any) -> str:
    if value is None:
        return "from hub"
    if change.setting == "interval":
        return duration(int(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _summary(changes: PolicyDiff) -> str:
    count = len(changes.changes)
    stores = len(_stores_of(changes))
    parts = [
        f"{count} setting change{'s' * (count != 1)} on "
        f"{stores} store{'s' * (stores != 1)}"
    ]
    if changes.stores_added:
        parts.append(f"{len(changes.stores_added)} store(s) added")
    if changes.stores_removed:
        parts.append(f"{len(changes.stores_removed)} store(s) removed")
    return "; ".join(parts) + "."


# --- markdown and JSON ------------------------------------------------------------


def _as_markdown(changes: PolicyDiff, base: str) -> str:
    if changes.empty:
        return f"No policy changes against `{escape(base)}`."

    lines = [f"### Policy changes against `{escape(base)}`", ""]
    lines += [f"- store `{store}` added" for store in changes.stores_added]
    lines += [f"- store `{store}` removed" for store in changes.stores_removed]
    if changes.stores_added or changes.stores_removed:
        lines.append("")
    if changes.changes:
        lines += [
            "| store | SKUs | setting | before | after | set by |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {change.store} | {escape(_scope(change))} | {change.setting} "
            f"| {_value(change, change.before)} | {_value(change, change.after)} "
            f"| {escape(change.source)} |"
            for change in changes.changes
        ]
        lines += ["", _summary(changes)]
    return "\n".join(lines)


def _as_json(changes: PolicyDiff, base: str) -> dict[str, Any]:
    return {
        "base": base,
        "stores_added": list(changes.stores_added),
        "stores_removed": list(changes.stores_removed),
        "changes": [
            {
                "store": change.store,
                "scope": change.scope,
                "vendor": change.vendor,
                "vendor_before": change.vendor_before
                if change.sku is not None
                else change.vendor,
                "sku": change.sku,
                "setting": change.setting,
                "before": change.before,
                "after": change.after,
                "source": change.source,
            }
            for change in changes.changes
        ],
    }

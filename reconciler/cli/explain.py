"""``reconcile explain SKU``: the effective policy of a SKU and why.

For each store (or the one named), every setting with its value and the
``file:line (level)`` that decided it, so that a reviewer can see which line
of which file to change. A SKU that no vendor file lists has no vendor in the
config; ``--vendor`` names one, else the SKU's hub record does, as in a pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NoReturn

import click

from reconciler.cli import (
    EXIT_ERROR,
    HandedDown,
    config_option,
    env,
    main,
    state_option,
    text_or_json_option,
)
from reconciler.errors import ConfigInvalid, StateError
from reconciler.hub import open_state
from reconciler.hub.records import HubRecord
from reconciler.hub.state import sqlite_file_absent
from reconciler.policy import Decided, EffectivePolicy, Level, Policy, load_policy

SETTINGS = ("direction", "mode", "interval", "manage_inventory")


@dataclass(frozen=True, slots=True)
class VendorNote:
    """Which vendor the SKU resolves under, and how that was decided.

    ``source`` is ``listed`` (a vendor file lists the SKU), ``option``
    (``--vendor``), ``hub`` (the SKU's hub record), or ``None`` when the
    vendor is unknown.
    """

    name: str | None
    source: str | None
    detail: str

    def describe(self) -> str:
        return f"vendor: {self.name or 'none'} ({self.detail})"


@main.command()
@click.argument("sku")
@click.option(
    "--store",
    "store_name",
    envvar=env("--store"),
    cls=HandedDown,
    show_envvar=True,
    help="Only this store.",
)
@click.option("--vendor", help="The SKU's vendor, when no vendor file lists it.")
@config_option
@state_option
@text_or_json_option("Output for people or for tools.")
@click.pass_context
def explain(
    ctx: click.Context,
    sku: str,
    store_name: str | None,
    vendor: str | None,
    config_dir: str,
    state_url: str | None,
    output_format: str,
) -> None:
    """Show the effective policy of SKU in every store, and why.

    A SKU that no vendor file lists takes its vendor from --vendor, else
    from its hub record (read from --state, which is never created here).
    """
    if not sku.strip():
        _fail(ctx, "the SKU must not be empty")
    try:
        policy = load_policy(config_dir)
    except ConfigInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        ctx.exit(EXIT_ERROR)

    stores = _selected_stores(ctx, policy, store_name)
    url = state_url or policy.repository.settings.state_url
    record = _hub_record(ctx, sku, url)
    note = _vendor_note(policy, sku, vendor, record)
    if note.source is None:
        note = _hub_note(policy, record, hub_exists=not sqlite_file_absent(url))
    policies = [policy.for_sku(store, sku, note.name) for store in stores]

    if output_format == "json":
        click.echo(json.dumps(_as_json(sku, note, policies, record), indent=2))
    elif output_format == "markdown":
        click.echo(_as_markdown(sku, note, policies, record))
    else:
        click.echo(_as_text(sku, note, policies, record))


def _selected_stores(
    ctx: click.Context, policy: Policy, store_name: str | None
) -> list[str]:
    names = [store.name for store in policy.stores()]
    if store_name is None:
        return names
    if store_name not in names:
        known = ", ".join(names) or "none"
        click.echo(f"unknown store {store_name}; the config has: {known}", err=True)
        ctx.exit(EXIT_ERROR)
    return [store_name]


def _vendor_note(
    policy: Policy, sku: str, vendor: str | None, record: HubRecord | None = None
) -> VendorNote:
    listed = policy.vendor_of(sku)
    if listed is not None:
        mark = policy.repository.vendors[listed].products[sku].mark
        detail = f"listed in {mark}"
        if vendor not in (None, listed):
            detail += f"; --vendor {vendor} ignored"
        if record is not None and record.vendor not in (None, listed):
            detail += f"; its hub record says vendor {record.vendor}: the listing wins"
        return VendorNote(listed, "listed", detail)
    if vendor is None:
        return VendorNote(None, None, "not listed; pass --vendor")
    return VendorNote(vendor, "option", _without_file(policy, vendor, "--vendor"))


def _hub_record(ctx: click.Context, sku: str, url: str) -> HubRecord | None:
    """The SKU's hub record; None without one (or without a hub yet)."""
    if sqlite_file_absent(url):
        return None
    try:
        with open_state(url, migrate=False) as state:
            return state.hub_records([sku]).get(sku)
    except StateError as error:
        _fail(ctx, str(error))


def _hub_note(
    policy: Policy, record: HubRecord | None, *, hub_exists: bool
) -> VendorNote:
    """The vendor of the SKU's hub record, as a pass would resolve it."""
    if not hub_exists:
        return VendorNote(None, None, "not listed; no hub yet; pass --vendor")
    if record is None:
        return VendorNote(None, None, "not listed; not in the hub; pass --vendor")
    if record.vendor is None:
        detail = "not listed; the hub record has no vendor; pass --vendor"
        return VendorNote(None, None, detail)
    detail = _without_file(policy, record.vendor, "the hub record")
    return VendorNote(record.vendor, "hub", detail)


def _without_file(policy: Policy, vendor: str, origin: str) -> str:
    if vendor in policy.repository.vendors:
        return f"from {origin}"
    return f"from {origin}; no vendors/{vendor}.yaml, so store settings apply"


def _fail(ctx: click.Context, message: str) -> NoReturn:
    click.echo(f"reconcile explain: {message}", err=True)
    ctx.exit(EXIT_ERROR)


# --- rendering -----------------------------------------------------------------


def hub_line(record: HubRecord | None) -> str:
    """``hub: manage_inventory true, quantity_available 12 (... from ...)``."""
    if record is None:
        return "hub: no record of this SKU"
    managed = str(record.manage_inventory).lower()
    when = record.changed_at.isoformat(timespec="seconds")
    vendor = f", vendor {record.vendor}" if record.vendor else ""
    return (
        f"hub: manage_inventory {managed}, quantity_available "
        f"{record.quantity_available}{vendor} (changed {when}, from {record.source})"
    )


def _as_text(
    sku: str,
    note: VendorNote,
    policies: list[EffectivePolicy],
    record: HubRecord | None,
) -> str:
    lines = [f"SKU {sku}", note.describe(), hub_line(record)]
    for policy in policies:
        lines += ["", f"store {policy.store}"]
        for name in SETTINGS:
            value, source = _text_cells(name, getattr(policy, name))
            lines.append(f"  {name:<17} {value:<15} {source}")
    return "\n".join(lines)


def _as_markdown(
    sku: str,
    note: VendorNote,
    policies: list[EffectivePolicy],
    record: HubRecord | None,
) -> str:
    """One table of every store's settings, for a pull-request comment."""
    lines = [
        f"**SKU `{sku}`**: {note.describe()}",
        "",
        hub_line(record),
        "",
        "| store | setting | value | set by |",
        "| --- | --- | --- | --- |",
    ]
    for policy in policies:
        for name in SETTINGS:
            value, source = _text_cells(name, getattr(policy, name))
            lines.append(f"| {policy.store} | {name} | {value} | {source} |")
    return "\n".join(lines)


def _text_cells(name: str, decided: Decided[Any] | None) -> tuple[str, str]:
    if decided is None:
        return "from hub", "no level sets it"
    if name == "interval":
        return duration(decided.value), decided.source
    if isinstance(decided.value, bool):
        return str(decided.value).lower(), decided.source
    return str(decided.value), decided.source


def _as_json(
    sku: str,
    note: VendorNote,
    policies: list[EffectivePolicy],
    record: HubRecord | None,
) -> dict[str, Any]:
    return {
        "sku": sku,
        "hub": None
        if record is None
        else {
            "manage_inventory": record.manage_inventory,
            "quantity_available": record.quantity_available,
            "changed_at": record.changed_at.isoformat(),
            "source": record.source,
            "vendor": record.vendor,
        },
        "vendor": {
            "name": note.name,
            "source": note.source,
            "detail": note.detail,
        },
        "stores": [
            {
                "store": policy.store,
                **{name: _json_setting(getattr(policy, name)) for name in SETTINGS},
            }
            for policy in policies
        ],
    }


def _json_setting(decided: Decided[Any] | None) -> dict[str, Any]:
    if decided is None:
        return {"value": None, "level": str(Level.HUB), "path": None, "line": None}
    mark = decided.mark
    return {
        "value": decided.value,
        "level": str(decided.level),
        "path": mark.path if mark else None,
        "line": mark.line if mark else None,
    }


def duration(seconds: int) -> str:
    """Seconds as the config writes them: 1h, 5m, 90s."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

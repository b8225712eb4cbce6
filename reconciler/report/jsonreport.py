"""The plan, or an applied run, as JSON for tools.

The document follows ``reconciler/schemas/plan.schema.json``; its
``schema_version`` changes whenever a field is renamed, removed or changes
meaning (adding an optional field does not), so tools can refuse a document
they do not understand. The properties added within version 1 (a change's
``replanned_from``, the outcomes' ``replanned``, the top level's
``suspended``) appear only when a run re-planned something or left a
suspended store out, so a document without either is exactly what the
first version of the schema describes. Ordering is deterministic (stores
by name, entries by SKU), so two runs over the same state produce the same
bytes.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from reconciler.channels.base import ItemOutcome
from reconciler.plan.model import (
    Change,
    Conflict,
    FieldChange,
    GuardVerdict,
    Held,
    Skipped,
)
from reconciler.report import Report, StoreView, Tally, by_sku

SCHEMA_VERSION = "1"
SCHEMA_FILE = "plan.schema.json"

Json = dict[str, Any]


def render_json(report: Report) -> str:
    """The document, indented, ending with a newline."""
    return json.dumps(document(report), indent=2, ensure_ascii=False) + "\n"


def load_schema() -> Json:
    """The JSON Schema the documents follow, as shipped inside the package."""
    source = resources.files("reconciler").joinpath("schemas", SCHEMA_FILE)
    schema: Json = json.loads(source.read_text(encoding="utf-8"))
    return schema


def document(report: Report) -> Json:
    """The report as plain JSON values, in the schema's shape; ``suspended``
    only when the pass left a suspended store out."""
    whole: Json = {
        "schema_version": SCHEMA_VERSION,
        "kind": "run" if report.applied else "plan",
        "run_id": report.run_id,
        "dry_run": report.dry_run,
        "created_at": report.plan.created_at.isoformat(),
        "summary": _summary(report.tally(), applied=report.applied),
        "stores": [_store(report, view) for view in report.stores()],
        "conflicts": [_conflict(c) for c in by_sku(report.plan.conflicts)],
    }
    if report.suspended:
        whole["suspended"] = [
            {"store": name, "file": file}
            for name, file in sorted(report.suspended.items())
        ]
    return whole


def _summary(tally: Tally, *, applied: bool) -> Json:
    summary: Json = {
        "stores": tally.stores,
        "pulls": tally.pulls,
        "pushes": tally.pushes,
        "held": tally.held,
        "skipped": tally.skipped,
        "conflicts": tally.conflicts,
        "guards_tripped": tally.guards_tripped,
        "stores_stopped": tally.stores_stopped,
        "outcomes": None,
    }
    if applied:
        summary["outcomes"] = {
            **tally.outcomes,
            "not_attempted": tally.not_attempted,
        }
        if tally.replanned:
            summary["outcomes"]["replanned"] = tally.replanned
    return summary


def _store(report: Report, view: StoreView) -> Json:
    plan = view.plan
    return {
        "store": view.name,
        "direction": view.direction,
        "managed_count": plan.managed_count if plan is not None else None,
        "error": view.error,
        "guard": _guard(plan.guard) if plan and plan.guard else None,
        "pulls": [_change(report, c) for c in by_sku(plan.pulls if plan else ())],
        "pushes": [_change(report, c) for c in by_sku(plan.pushes if plan else ())],
        "held": [_held(h) for h in by_sku(plan.held if plan else ())],
        "skipped": [_skipped(s) for s in by_sku(plan.skipped if plan else ())],
    }


def _change(report: Report, change: Change) -> Json:
    """The change as written (its re-plan after a stale read, if any)."""
    written = report.written(change)
    document: Json = {
        "sku": change.sku,
        "target": change.target.value,
        "label": change.label.value,
        "fields": [_field(f) for f in written.fields],
        "managed": written.managed,
        "quantity": written.quantity,
        "expected_managed": written.expected_managed,
        "expected_quantity": written.expected_quantity,
        "ref": written.ref,
        "note": change.note,
        "outcome": _outcome(report.outcome(change)) if report.applied else None,
    }
    note = report.replan_note(change)
    if note is not None:
        document["replanned_from"] = _replanned_from(change, note)
    return document


def _replanned_from(planned: Change, note: str) -> Json:
    return {
        "fields": [_field(f) for f in planned.fields],
        "expected_managed": planned.expected_managed,
        "expected_quantity": planned.expected_quantity,
        "note": note,
    }


def _field(change: FieldChange) -> Json:
    return {"field": change.field, "before": change.before, "after": change.after}


def _outcome(result: ItemOutcome | None) -> Json:
    if result is None:
        return {
            "outcome": "not_attempted",
            "code": None,
            "message": None,
            "quantity_after": None,
        }
    return {
        "outcome": result.outcome.value,
        "code": result.code,
        "message": result.message,
        "quantity_after": result.quantity_after,
    }


def _guard(guard: GuardVerdict) -> Json:
    return {
        "managed": guard.managed,
        "zeroed": guard.zeroed,
        "changed": guard.changed,
        "max_zeroed": guard.max_zeroed,
        "max_changed": guard.max_changed,
        "tripped": guard.tripped,
        "allowed": guard.allowed,
        "blocks": guard.blocks,
        "message": guard.message,
    }


def _held(held: Held) -> Json:
    return {
        "sku": held.sku,
        "target": held.target.value,
        "reason": held.reason.value,
        "fields": [_field(f) for f in held.fields],
    }


def _skipped(skipped: Skipped) -> Json:
    return {
        "sku": skipped.sku,
        "reason": skipped.reason.value,
        "detail": skipped.detail,
    }


def _conflict(conflict: Conflict) -> Json:
    return {"sku": conflict.sku, "stores": sorted(conflict.stores)}

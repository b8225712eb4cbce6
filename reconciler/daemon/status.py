"""The per-store status document: from a running daemon, or from the state.

``/status`` and ``reconcile status --format json`` print the same document:

    {"replica": ..., "config": {"generation": N, "refused": [problems]},
     "stores": [{"store", "status", "last_pass_at", "last_success_at",
                 "last_error", "last_run", "failures", "next_due_at",
                 "running", "held_by", "interval"}]}

Without a running daemon, the status is computed from the state store's
recent runs: a store's latest run that succeeded is ``synced``, one that
failed is ``degraded``, one still ``running`` (or cut off by a crash) and a
store never run are ``out_of_sync``; ``suspended`` comes from the config.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from reconciler.daemon.scheduler import StoreStatus, StoreView
from reconciler.hub.records import RunRecord, RunStatus

RECENT_RUNS = 500


def document(
    views: Iterable[StoreView],
    *,
    replica: str | None,
    generation: int | None,
    refused: Sequence[str] = (),
) -> dict[str, Any]:
    """The status document of a daemon (or of the state, ``replica`` None)."""
    return {
        "replica": replica,
        "config": {"generation": generation, "refused": list(refused)},
        "stores": [_store_entry(view) for view in views],
    }


def _store_entry(view: StoreView) -> dict[str, Any]:
    return {
        "store": view.store,
        "status": view.status.value,
        "interval": view.interval,
        "last_pass_at": _iso(view.last_pass_at),
        "last_success_at": _iso(view.last_success_at),
        "last_error": view.last_error,
        "last_run": view.last_run,
        "failures": view.failures,
        "next_due_at": _iso(view.next_due_at),
        "running": view.running,
        "held_by": view.held_by,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def views_from_runs(
    stores: Mapping[str, tuple[float, bool]], runs: Sequence[RunRecord]
) -> list[StoreView]:
    """Each store's view from its latest run; ``stores`` maps a name to its
    (interval, suspended). ``runs`` come newest first."""
    latest: dict[str, RunRecord] = {}
    succeeded: dict[str, RunRecord] = {}
    for run in runs:
        for store in run.stores:
            latest.setdefault(store, run)
            if run.status is RunStatus.SUCCEEDED:
                succeeded.setdefault(store, run)

    return [
        _view_from_run(name, interval, suspended, latest.get(name), succeeded.get(name))
        for name, (interval, suspended) in stores.items()
    ]


def _view_from_run(
    name: str,
    interval: float,
    suspended: bool,
    run: RunRecord | None,
    success: RunRecord | None,
) -> StoreView:
    status = StoreStatus.OUT_OF_SYNC
    if suspended:
        status = StoreStatus.SUSPENDED
    elif run is not None and run.status is RunStatus.SUCCEEDED:
        status = StoreStatus.SYNCED
    elif run is not None and run.status is RunStatus.FAILED:
        status = StoreStatus.DEGRADED

    error = None
    if run is not None and run.status is RunStatus.FAILED:
        error = str(run.summary.get("error") or "the last run failed")
    return StoreView(
        store=name,
        status=status,
        interval=interval,
        last_pass_at=(run.finished_at or run.started_at) if run else None,
        last_success_at=success.finished_at if success else None,
        last_error=error,
        last_run=run.id if run else None,
    )


def render_text(doc: Mapping[str, Any]) -> str:
    """A table for people, one store a line, then any refused config."""
    header = ("STORE", "STATUS", "LAST PASS", "NEXT DUE", "HELD BY", "LAST ERROR")
    rows = [header] + [
        (
            entry["store"],
            entry["status"],
            entry["last_pass_at"] or "never",
            entry["next_due_at"] or "-",
            entry["held_by"] or "-",
            entry["last_error"] or "",
        )
        for entry in doc["stores"]
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]

    refused = doc["config"]["refused"]
    if refused:
        lines.append("config refused (running the last good config):")
        lines.extend(f"  {problem}" for problem in refused)
    return "\n".join(lines)

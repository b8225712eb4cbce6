"""The per-store status document: from a running daemon, or from the state.

``/status`` and ``reconcile status --format json`` print the same document:

    {"replica": ..., "config": {"generation": N, "refused": [problems]},
     "stores": [{"store", "status", "last_pass_at", "last_success_at",
                 "last_error", "last_run", "failures", "next_due_at",
                 "running", "held_by", "interval"}]}

Without a running daemon, the status is computed from the state store's
recent runs, store by store, from each run's per-store outcomes (the run
summary's ``stores``: ``{"outcome": "ok"|"failed"|"guard"|"skipped",
"error": ..., "unresolved": N}``): a store whose last run failed on it, or
whose guard stopped it, is ``degraded`` with that run's reason; one whose
last run left changes unresolved (failed, deferred, stale, not attempted),
one still ``running`` (or cut off by a crash) and a store never run are
``out_of_sync``; otherwise ``synced``. A run that skipped a store (another
holder was syncing it) does not count for it. ``failures`` counts the
store's consecutive failed runs; ``suspended`` comes from the config. Runs
recorded before per-store outcomes count for every store they list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
        "interval_groups": [
            {"interval": interval, "next_due_at": _iso(due)}
            for interval, due in view.groups
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def views_from_runs(
    stores: Mapping[str, tuple[float, bool]], runs: Sequence[RunRecord]
) -> list[StoreView]:
    """Each store's view from its recent runs; ``stores`` maps a name to its
    (interval, suspended). ``runs`` come newest first."""
    return [
        _view_of(name, interval, suspended, _runs_of(name, runs))
        for name, (interval, suspended) in stores.items()
    ]


@dataclass(frozen=True, slots=True)
class _StoreRun:
    """One run as one store saw it (its entry in the run's ``stores``)."""

    run: RunRecord
    outcome: str
    error: str | None
    unresolved: int
    waiting: int = 0
    waiting_on: tuple[str, ...] = ()
    narrowed: bool = False
    """The daemon's pass of only the SKUs due on a shorter interval."""

    @property
    def failed(self) -> bool:
        return self.outcome in ("failed", "guard")


def _runs_of(store: str, runs: Sequence[RunRecord]) -> list[_StoreRun]:
    """The runs that passed ``store``, newest first; a run that skipped it
    (another holder synced it) did not pass it."""
    found = []
    for run in runs:
        entry = _entry_of(store, run)
        if entry is not None and entry.outcome != "skipped":
            found.append(entry)
    return found


def _entry_of(store: str, run: RunRecord) -> _StoreRun | None:
    outcomes = run.summary.get("stores")
    entry = outcomes.get(store) if isinstance(outcomes, Mapping) else None
    if isinstance(entry, Mapping):
        return _StoreRun(
            run,
            str(entry.get("outcome", "ok")),
            _text(entry.get("error")),
            int(entry.get("unresolved") or 0),
            int(entry.get("waiting") or 0),
            tuple(str(why) for why in entry.get("waiting_on") or ()),
            "narrowed_to_skus" in run.summary,
        )
    if store not in run.stores:
        return None
    return _legacy_entry(run)


def _legacy_entry(run: RunRecord) -> _StoreRun:
    """A run recorded without per-store outcomes: its status is every store's."""
    if run.status is RunStatus.FAILED:
        error = _text(run.summary.get("error")) or "the last run failed"
        return _StoreRun(run, "failed", error, 0)
    return _StoreRun(run, "ok", None, 0)


def _text(value: object) -> str | None:
    return str(value) if value else None


def _view_of(
    name: str, interval: float, suspended: bool, runs: Sequence[_StoreRun]
) -> StoreView:
    latest = next(iter(runs), None)
    finished = [r for r in runs if r.run.status is not RunStatus.RUNNING]
    success = next((r for r in finished if not r.failed), None)
    failures = 0
    for entry in finished:
        if not entry.failed:
            break
        failures += 1

    deciding = _deciding(runs)
    return StoreView(
        store=name,
        status=_status_of(suspended, deciding),
        interval=interval,
        last_pass_at=(latest.run.finished_at or latest.run.started_at)
        if latest
        else None,
        last_success_at=success.run.finished_at if success else None,
        last_error=_error_of(deciding),
        last_run=latest.run.id if latest else None,
        failures=failures,
    )


def _deciding(runs: Sequence[_StoreRun]) -> _StoreRun | None:
    """The run whose end is the store's status: the newest, but a narrowed
    pass (a few SKUs due on a shorter interval) that left nothing says nothing
    of the other SKUs, so the newest run before it that is whole, or that
    left something, decides."""
    for entry in runs:
        clean = not (entry.failed or entry.unresolved or entry.waiting)
        if not (entry.narrowed and clean) or entry.run.status is RunStatus.RUNNING:
            return entry
    return next(iter(runs), None)


def _status_of(suspended: bool, latest: _StoreRun | None) -> StoreStatus:
    """Suspended from the config; else degraded when the store's last run
    failed on it or its guard stopped it, synced when that run left nothing
    unresolved, and out of sync otherwise (never run, still running, or
    changes left failed, deferred, stale or not attempted)."""
    if suspended:
        return StoreStatus.SUSPENDED
    if latest is None or latest.run.status is RunStatus.RUNNING:
        return StoreStatus.OUT_OF_SYNC
    if latest.failed:
        return StoreStatus.DEGRADED
    if latest.unresolved > 0 or latest.waiting > 0:
        return StoreStatus.OUT_OF_SYNC
    return StoreStatus.SYNCED


def _error_of(latest: _StoreRun | None) -> str | None:
    if latest is None or latest.run.status is RunStatus.RUNNING:
        return None
    if latest.outcome == "guard":
        return f"guard tripped: {latest.error or 'mass change refused'}"
    if latest.failed:
        return latest.error or "the last run failed"
    said = []
    if latest.unresolved > 0:
        count = latest.unresolved
        said.append(f"the last run left {count} change{'s' * (count != 1)} unresolved")
    if latest.waiting > 0:
        count = latest.waiting
        why = "; ".join(latest.waiting_on)
        whose = "wait on their" if count != 1 else "waits on its"
        said.append(f"{count} SKU{'s' * (count != 1)} {whose} master store: {why}")
    return "; ".join(said) or None


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

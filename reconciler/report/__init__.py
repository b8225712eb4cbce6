"""Reports of a plan or a run: text for people, JSON for tools, Markdown for PRs.

``render`` is the one entry point the command line calls. Every format reads
the same ``Report`` view: the plan, and for an applied run the adapter's
outcome of each change and the error that stopped a store. A change that
went stale and was re-planned within the run is shown as finally written
(the journal's ``before``), with a note naming the value the channel moved
from. Counts, the closing summary line, the store headings and hints live
here, so that the three formats never disagree.

The format modules import this one, so ``render`` imports them when called
rather than at the top of this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from reconciler.apply.executor import ChangeResult, StoreFailure
from reconciler.channels.base import ItemOutcome, Outcome
from reconciler.plan.model import (
    Change,
    FieldValue,
    Plan,
    Side,
    Skipped,
    SkipReason,
    StorePlan,
)

FORMATS = ("text", "json", "markdown")
FIRST_FEW = 5
CHANNEL_TO_HUB = "channel_to_hub"
GUARD_STAGE = "guard"
ERROR_JOIN = "; "
IMPORT_HINT = (
    "the hub has no record of these SKUs; load it with `reconcile import FILE.csv`"
)

OutcomeKey = tuple[str, str, str]


class _Keyed(Protocol):
    @property
    def sku(self) -> str: ...


K = TypeVar("K", bound=_Keyed)


class Suspension(Protocol):
    """A suspended store of a pass (``reconciler.runner.SuspendedStore``)."""

    @property
    def name(self) -> str: ...

    @property
    def file(self) -> str: ...

    @property
    def named(self) -> bool: ...


class PassOutcome(Protocol):
    """What a reconcile pass hands back (``reconciler.runner.PassResult``).

    A protocol rather than an import, so that the reports stay below the
    pass that calls them.
    """

    @property
    def plan(self) -> Plan: ...

    @property
    def results(self) -> tuple[ChangeResult, ...]: ...

    @property
    def failures(self) -> tuple[StoreFailure, ...]: ...

    @property
    def run_id(self) -> int | None: ...

    @property
    def applied(self) -> bool: ...

    @property
    def suspended(self) -> Sequence[Suspension]: ...


@dataclass(frozen=True, slots=True)
class StoreView:
    """One store as a report shows it: its plan, or only the error that stopped it.

    ``plan`` is ``None`` when the store never got a plan (its read failed).
    """

    name: str
    plan: StorePlan | None
    errors: tuple[str, ...] = ()
    """Each failure that stopped the store, as ``failure_text`` gives it."""

    @property
    def error(self) -> str | None:
        """The store's failures joined in one line; None when it had none."""
        return ERROR_JOIN.join(self.errors) or None

    @property
    def direction(self) -> str | None:
        return self.plan.direction if self.plan is not None else None

    @property
    def error_besides_guard(self) -> str | None:
        """The error, less the blocking guard's own message: apply records a
        blocked store as a ``guard`` failure, and the verdict already says it."""
        guard = self.plan.guard if self.plan is not None else None
        if guard is None or not guard.blocks:
            return self.error
        own = failure_text(GUARD_STAGE, guard.message or "")
        return ERROR_JOIN.join(e for e in self.errors if e != own) or None

    @property
    def stopped(self) -> bool:
        """Whether an error or a blocking guard kept the store from applying."""
        guard = self.plan.guard if self.plan is not None else None
        return self.error is not None or (guard is not None and guard.blocks)


@dataclass(frozen=True, slots=True)
class Tally:
    """The counts of a report's closing line and of the JSON summary."""

    stores: int
    pulls: int
    pushes: int
    held: int
    skipped: int
    conflicts: int
    guards_tripped: int
    stores_stopped: int
    outcomes: Mapping[str, int] = field(default_factory=dict)
    pulled: int = 0
    pushed: int = 0
    not_attempted: int = 0
    replanned: int = 0


@dataclass(frozen=True, slots=True)
class Report:
    """A plan, with what applying it did when the run was not a dry run."""

    plan: Plan
    outcomes: Mapping[OutcomeKey, ItemOutcome] = field(default_factory=dict)
    store_errors: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Each store's failures, in the order they happened."""
    run_id: int | None = None
    dry_run: bool = True
    replanned: Mapping[OutcomeKey, Change] = field(default_factory=dict)
    """The re-plan of a planned change that went stale, by the same key."""
    suspended: Mapping[str, str] = field(default_factory=dict)
    """Suspended stores the pass left out, each with its file (by name)."""

    @property
    def applied(self) -> bool:
        return not self.dry_run

    def outcome(self, change: Change) -> ItemOutcome | None:
        return self.outcomes.get(_key(change))

    def written(self, change: Change) -> Change:
        """The change as finally written and journaled: its re-plan, if any."""
        return self.replanned.get(_key(change), change)

    def replan_note(self, change: Change) -> str | None:
        """``re-planned after a concurrent change: 61 -> 59 on the channel``."""
        fresh = self.replanned.get(_key(change))
        if fresh is None:
            return None
        moves = _moves(change, fresh)
        moved = f": {', '.join(moves)} on the channel" if moves else ""
        return f"re-planned after a concurrent change{moved}"

    def stores(self) -> list[StoreView]:
        """Every store of the plan or of the errors, by name."""
        names = {s.store for s in self.plan.stores} | set(self.store_errors)
        return [
            StoreView(
                name, self.plan.store(name), tuple(self.store_errors.get(name, ()))
            )
            for name in sorted(names)
        ]

    def tally(self) -> Tally:
        counts = self.plan.summary()
        views = self.stores()
        changes = [c for s in self.plan.stores for c in (*s.pulls, *s.pushes)]
        base = Tally(
            stores=len(views),
            pulls=counts["pulls"],
            pushes=counts["pushes"],
            held=counts["held"],
            skipped=counts["skipped"],
            conflicts=counts["conflicts"],
            guards_tripped=counts["guards_tripped"],
            stores_stopped=sum(1 for view in views if view.stopped),
        )
        return self._with_outcomes(base, changes) if self.applied else base

    def _with_outcomes(self, base: Tally, changes: list[Change]) -> Tally:
        results = [(change, self.outcome(change)) for change in changes]
        by_outcome = Counter(r.outcome.value for _, r in results if r is not None)
        applied = [
            c for c, r in results if r is not None and r.outcome is Outcome.APPLIED
        ]

        return Tally(
            stores=base.stores,
            pulls=base.pulls,
            pushes=base.pushes,
            held=base.held,
            skipped=base.skipped,
            conflicts=base.conflicts,
            guards_tripped=base.guards_tripped,
            stores_stopped=base.stores_stopped,
            outcomes={o.value: by_outcome.get(o.value, 0) for o in Outcome},
            pulled=sum(1 for c in applied if c.target is Side.HUB),
            pushed=sum(1 for c in applied if c.target is Side.CHANNEL),
            not_attempted=sum(1 for _, r in results if r is None),
            replanned=sum(1 for c in changes if _key(c) in self.replanned),
        )


def _key(change: Change) -> OutcomeKey:
    return (change.store, change.sku, change.target.value)


def _moves(planned: Change, fresh: Change) -> list[str]:
    """How the channel's values moved between the plan's read and the re-read."""
    managed = (planned.expected_managed, fresh.expected_managed)
    quantity = (planned.expected_quantity, fresh.expected_quantity)
    if managed[0] == managed[1]:
        same = quantity[0] == quantity[1]
        return (
            [] if same else [f"{show_value(quantity[0])} -> {show_value(quantity[1])}"]
        )
    moves = [f"manage_inventory {show_value(managed[0])} -> {show_value(managed[1])}"]
    if quantity[0] != quantity[1]:
        moves.append(
            f"quantity_available {show_value(quantity[0])} -> {show_value(quantity[1])}"
        )
    return moves


def store_heading(view: StoreView) -> str:
    """``magento-eu (default channel_to_hub; this plan: 54 pulls, 621 pushes)``.

    The default direction alone would mislead where vendor or product
    overrides make a master store take pushes, so the plan's own counts follow.
    """
    plan = view.plan
    if plan is None:
        return view.name
    counts = [
        f"{len(changes):,} {noun if len(changes) == 1 else nouns}"
        for changes, noun, nouns in (
            (plan.pulls, "pull", "pulls"),
            (plan.pushes, "push", "pushes"),
        )
        if changes
    ]
    this_plan = f"; this plan: {', '.join(counts)}" if counts else ""
    return f"{view.name} (default {plan.direction}{this_plan})"


def import_hint(plan: StorePlan) -> str | None:
    """A hint for a master store whose SKUs the hub has never heard of.

    A master store never creates hub records (DESIGN.md section 4), so an
    empty hub stays empty until an import; say so rather than ``No changes``.
    """
    unknown = any(s.reason is SkipReason.UNKNOWN_TO_HUB for s in plan.skipped)
    return IMPORT_HINT if unknown and plan.direction == CHANNEL_TO_HUB else None


def render(
    plan: Plan,
    fmt: str,
    *,
    outcomes: Mapping[OutcomeKey, ItemOutcome] | None = None,
    store_errors: Mapping[str, str] | None = None,
    run_id: int | None = None,
    dry_run: bool = True,
) -> str:
    """The plan (or the applied run) as ``text``, ``json`` or ``markdown``.

    ``outcomes`` maps (store, SKU, target side value) to the adapter's outcome
    of that change; ``store_errors`` maps a store to the error that stopped it.
    """
    errors = {store: (error,) for store, error in (store_errors or {}).items()}
    report = Report(plan, outcomes or {}, errors, run_id, dry_run)
    return render_report(report, fmt)


def render_result(result: PassOutcome, fmt: str) -> str:
    """A pass's result: its plan, and what applying it did when it applied."""
    return render_report(report_of(result), fmt)


def report_of(result: PassOutcome) -> Report:
    """The report view of a pass, with each store's failures.

    A result's change is its re-plan when it went stale; keyed as the planned
    change (same store, SKU and target), it takes that change's place.
    """
    outcomes = {
        _key(r.change): ItemOutcome(
            r.change.sku, r.outcome, code=r.code, message=r.message
        )
        for r in result.results
    }
    replanned = {_key(r.change): r.change for r in result.results if r.replanned}
    errors: dict[str, list[str]] = {}
    for failure in result.failures:
        errors.setdefault(failure.store, []).append(
            failure_text(failure.stage, failure.message)
        )
    return Report(
        result.plan,
        outcomes,
        errors,
        result.run_id,
        not result.applied,
        replanned,
        {s.name: s.file for s in result.suspended if not s.named},
    )


def suspended_line(name: str, file: str) -> str:
    """``shopify-us: suspended in stores/shopify-us.yaml, skipped``."""
    return f"{name}: suspended in {file}, skipped"


SHOWN_DETAILS = 3
"""The most distinct details shown under one skip reason."""


def skip_details(skipped: Sequence[Skipped]) -> list[str]:
    """Why these skips (of one reason) happened: ``why: DETAIL`` when they
    share one detail, else ``N of them: DETAIL``, the commonest first."""
    counts: dict[str, int] = {}
    for entry in skipped:
        if entry.detail:
            detail = one_line(entry.detail)
            counts[detail] = counts.get(detail, 0) + 1
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    if len(ranked) == 1 and ranked[0][1] == len(skipped):
        return [f"why: {ranked[0][0]}"]
    lines = [f"{n:,} of them: {detail}" for detail, n in ranked[:SHOWN_DETAILS]]
    if len(ranked) > SHOWN_DETAILS:
        lines.append(f"... and {len(ranked) - SHOWN_DETAILS:,} other reasons")
    return lines


def failure_text(stage: str, message: str) -> str:
    """A store failure as reports show it: ``read: page 3 timed out``."""
    return f"{stage}: {message}"


def render_report(report: Report, fmt: str) -> str:
    """A ``Report`` in one of ``FORMATS``; a ``ValueError`` names an unknown one."""
    from reconciler.report import jsonreport, markdown, text

    renderers = {
        "text": text.render_text,
        "json": jsonreport.render_json,
        "markdown": markdown.render_markdown,
    }
    renderer = renderers.get(fmt)
    if renderer is None:
        choices = ", ".join(FORMATS)
        raise ValueError(f"unknown report format {fmt!r}; choose one of {choices}")
    return renderer(report)


def summary_line(report: Report) -> str:
    """The closing line: what the plan would do, or what the run did."""
    tally = report.tally()
    if not report.plan.has_changes and tally.stores_stopped == 0:
        return _no_changes(tally)

    counts = _applied_counts(tally) if report.applied else _planned_counts(tally)
    left = [f"{tally.held:,} held", _plural(tally.conflicts, "conflict")]
    left.append(f"{tally.skipped:,} skipped")
    if tally.stores_stopped:
        left.append(_plural(tally.stores_stopped, "store") + " stopped")
    head = "Applied" if report.applied else "Plan"
    return f"{head}: {', '.join([*counts, *left])}."


def _no_changes(tally: Tally) -> str:
    """The stores match their masters only when nothing was left alone; held,
    conflicting or skipped items may still differ, and the line says so."""
    if not (tally.held or tally.conflicts or tally.skipped):
        return "No changes. The stores match their masters."
    left = [f"{tally.held:,} held", _plural(tally.conflicts, "conflict")]
    left.append(f"{tally.skipped:,} skipped")
    line = f"No changes to apply. Left alone, and may still differ: {', '.join(left)}."
    if tally.held:
        line += " Held items sync when a run names them (--sku, --include-manual)."
    return line


def _planned_counts(tally: Tally) -> list[str]:
    return [
        f"{tally.pulls:,} to pull into the hub",
        f"{tally.pushes:,} to push to stores",
    ]


def _applied_counts(tally: Tally) -> list[str]:
    counts = [
        f"{tally.pulled:,} pulled into the hub",
        f"{tally.pushed:,} pushed to stores",
    ]
    for outcome in (Outcome.STALE, Outcome.REFUSED, Outcome.DEFERRED, Outcome.FAILED):
        counts.append(f"{tally.outcomes.get(outcome.value, 0):,} {outcome.value}")
        if outcome is Outcome.STALE and tally.replanned:
            counts.append(f"{tally.replanned:,} re-planned after a concurrent change")
    if tally.not_attempted:
        counts.append(f"{tally.not_attempted:,} not attempted")
    return counts


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def by_sku(entries: Iterable[K]) -> list[K]:
    """Entries with a ``sku`` in a stable order: by SKU, then by store."""
    return sorted(entries, key=lambda entry: (entry.sku, getattr(entry, "store", "")))


def show_value(value: FieldValue) -> str:
    """A field value as reports print it: ``true``/``false``, a number, ``unset``."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def one_line(message: str) -> str:
    """A channel's or an error's message on one line, whitespace collapsed."""
    return " ".join(message.split())


def first_few(names: list[str], limit: int = FIRST_FEW) -> str:
    """``a, b, c, +2 more``: the first names of a list and how many are left."""
    shown = ", ".join(names[:limit])
    rest = len(names) - limit
    return f"{shown}, +{rest:,} more" if rest > 0 else shown

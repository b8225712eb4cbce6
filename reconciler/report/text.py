"""The plan, or an applied run, as plain text for people.

One block per store, headed by its name, default direction and what this
plan does there (overrides can make a master store take pushes); one line
per change, pulls (``hub <- store``) before pushes (``store <- hub``), each
naming its SKU so that ``grep SKU`` finds every line about it. Held, skipped and
conflicting SKUs are counted with the first few named. No colour: the text
goes to logs and pipes as often as to a terminal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from reconciler.channels.base import ItemOutcome
from reconciler.plan.model import Change, FieldChange, GuardVerdict, Side, Skipped
from reconciler.report import (
    FIRST_FEW,
    Report,
    StoreView,
    by_sku,
    first_few,
    import_hint,
    one_line,
    show_value,
    skip_details,
    store_heading,
    summary_line,
    suspended_line,
)


def render_text(report: Report, *, limit: int = FIRST_FEW) -> str:
    """The whole report, ending with the summary line and a newline."""
    blocks = [_store_block(report, view, limit) for view in report.stores()]
    if report.plan.conflicts:
        blocks.append([_conflicts_line(report, limit)])
    if report.suspended:
        blocks.append([suspended_line(*entry) for entry in report.suspended.items()])

    lines = [f"Run {report.run_id}", ""] if report.run_id is not None else []
    for block in blocks:
        lines.extend([*block, ""])
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def _store_block(report: Report, view: StoreView, limit: int) -> list[str]:
    lines = [store_heading(view)]
    error = view.error_besides_guard
    if error is not None:
        lines.append(f"  stopped: {one_line(error)}")
    plan = view.plan
    if plan is None:
        return lines

    if plan.guard is not None and plan.guard.tripped:
        lines.append(_guard_line(plan.guard))
    for change in (*by_sku(plan.pulls), *by_sku(plan.pushes)):
        lines.append(change_line(change, report))
    if not plan.has_changes and view.error is None:
        lines.append("  no changes")
    lines.extend(_counted("held", ((h.reason, h.sku) for h in plan.held), limit))
    lines.extend(_skipped(plan.skipped, limit))
    hint = import_hint(plan)
    if hint is not None:
        lines.append(f"  hint: {hint}")
    return lines


def change_line(change: Change, report: Report) -> str:
    """``  shopify-us <- hub  SKU  quantity_available 5 -> 0  [drift]``."""
    arrow = (
        f"hub <- {change.store}"
        if change.target is Side.HUB
        else f"{change.store} <- hub"
    )
    written = report.written(change)
    fields = ", ".join(_field_text(f) for f in written.fields)
    label = (
        change.label.value if change.note is None else f"{change.label}: {change.note}"
    )
    line = f"  {arrow}  {change.sku}  {fields}  [{label}]"
    if report.applied:
        outcome = outcome_text(report.outcome(change), report.replan_note(change))
        line += f"  => {outcome}"
    return line


def outcome_text(result: ItemOutcome | None, note: str | None = None) -> str:
    """What applying a change did, with the channel's code and message, and
    ``note`` (a re-plan after a stale read) in parentheses."""
    if result is None:
        return "not attempted"
    text = result.outcome.value
    if note:
        text += f" ({note})"
    if result.code:
        text += f" ({result.code})"
    if result.message:
        text += f": {one_line(result.message)}"
    return text


def _field_text(change: FieldChange) -> str:
    before, after = show_value(change.before), show_value(change.after)
    return f"{change.field} {before} -> {after}"


def _guard_line(guard: GuardVerdict) -> str:
    message = one_line(guard.message) if guard.message else guard_numbers(guard)
    if guard.allowed:
        return f"  guard tripped, allowed for this run: {message}"
    return f"  guard tripped, nothing applied: {message}"


def guard_numbers(guard: GuardVerdict) -> str:
    """The guard's figures, for a verdict that carries no message of its own."""
    return (
        f"{guard.zeroed:,} zeroed (max {guard.max_zeroed:.0%}) and "
        f"{guard.changed:,} changed (max {guard.max_changed:.0%}) "
        f"of {guard.managed:,} managed SKUs"
    )


def _counted(what: str, entries: Iterable[tuple[str, str]], limit: int) -> list[str]:
    """``  held 3 (manual): A, B, C`` per reason, reasons in name order."""
    skus_by_reason: dict[str, list[str]] = defaultdict(list)
    for reason, sku in entries:
        skus_by_reason[str(reason)].append(sku)
    return [
        _count_line(what, reason, skus, limit)
        for reason, skus in sorted(skus_by_reason.items())
    ]


def _count_line(what: str, reason: str, skus: list[str], limit: int) -> str:
    return f"  {what} {len(skus):,} ({reason}): {first_few(sorted(skus), limit)}"


def _skipped(skipped: Iterable[Skipped], limit: int) -> list[str]:
    """The counted skips, each reason followed by why, in the channel's words."""
    by_reason: dict[str, list[Skipped]] = defaultdict(list)
    for entry in skipped:
        by_reason[str(entry.reason)].append(entry)
    lines: list[str] = []
    for reason, entries in sorted(by_reason.items()):
        lines.append(_count_line("skipped", reason, [s.sku for s in entries], limit))
        lines.extend(f"    {line}" for line in skip_details(entries))
    return lines


def _conflicts_line(report: Report, limit: int) -> str:
    conflicts = by_sku(report.plan.conflicts)
    names = [f"{c.sku} ({', '.join(sorted(c.stores))})" for c in conflicts]
    count = len(conflicts)
    return f"conflicts {count:,} (two master stores, left alone): " + first_few(
        names, limit
    )

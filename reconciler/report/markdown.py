"""The plan, or an applied run, as Markdown for a pull-request comment.

A comment has a hard size limit (65,536 characters on GitHub), and a plan can
hold a hundred thousand changes, so the comment is built to a budget: the
summary and the per-store table always fit; then the changes a reviewer must
see first (failed ones in a run, then those that zero a quantity, then the
largest quantity moves) fill the room left, and the rest is a count. The
text and JSON reports always list everything.
"""

from __future__ import annotations

from collections import Counter

from reconciler.channels.base import Outcome
from reconciler.plan.model import QUANTITY_AVAILABLE, Change, Side, StorePlan
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
    summary_line,
)
from reconciler.report.text import guard_numbers, outcome_text

DEFAULT_MAX_CHARS = 60_000
LONGEST_SKU = 64
LONGEST_MESSAGE = 200
_MARKUP = "\\`*_[]<>|~"
_CUT_NOTE = "\n_The comment was cut here to stay within its size limit._\n"


def render_markdown(
    report: Report, *, max_chars: int = DEFAULT_MAX_CHARS, limit: int = FIRST_FEW
) -> str:
    """The comment, never longer than ``max_chars`` characters."""
    head = _head(report)
    tail = _left_alone(report, limit)
    room = max_chars - len(head) - len(tail) - len(_more_line(10**9))

    comment = head + _changes(report, room) + tail
    return _bounded(comment.rstrip("\n") + "\n", max_chars)


def escape(text: str) -> str:
    """Text safe inside a table cell: markup characters escaped, one line."""
    return _escape_chars(one_line(text))


def _escape_chars(text: str) -> str:
    return "".join("\\" + char if char in _MARKUP else char for char in text)


def escape_prose(text: str) -> str:
    """Text outside a table: markup escaped, but `code` spans kept as code."""
    spans = one_line(text).split("`")
    return "`".join(
        span if index % 2 else _escape_chars(span) for index, span in enumerate(spans)
    )


def _sku(sku: str) -> str:
    shown = sku if len(sku) <= LONGEST_SKU else sku[: LONGEST_SKU - 1] + "…"
    return escape(shown)


def _message(message: str) -> str:
    flat = one_line(message)
    shown = flat if len(flat) <= LONGEST_MESSAGE else flat[: LONGEST_MESSAGE - 1] + "…"
    return escape(shown)


def _head(report: Report) -> str:
    title = "Inventory plan" if report.dry_run else "Inventory run"
    if report.run_id is not None:
        title += f" {report.run_id}"
    lines = [f"### {title}", "", summary_line(report), ""]
    views = report.stores()
    if views or report.suspended:
        lines.extend(_store_table(report, views))
    return "\n".join(lines) + "\n"


def _store_table(report: Report, views: list[StoreView]) -> list[str]:
    """One row per store of the plan, then one per suspended store left out."""
    lines = [
        "| store | default direction | to pull | to push | held | skipped | status |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for view in views:
        plan = view.plan or StorePlan(store=view.name, direction="")
        counts = [len(plan.pulls), len(plan.pushes), len(plan.held), len(plan.skipped)]
        cells = [escape(view.name), escape(view.direction or "-")]
        cells.extend(f"{count:,}" for count in counts)
        cells.append(_status(report, view))
        lines.append("| " + " | ".join(cells) + " |")
    for name, file in sorted(report.suspended.items()):
        cells = [escape(name), "-", "-", "-", "-", "-", f"suspended ({escape(file)})"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines + _cut_messages(views)


def _cut_messages(views: list[StoreView]) -> list[str]:
    """In full, below the table, each stop or guard message its cell cut."""
    lines = []
    for view in views:
        guard = view.plan.guard if view.plan is not None else None
        tripped = guard.message if guard is not None and guard.tripped else None
        message = view.error_besides_guard or tripped
        if message is not None and len(one_line(message)) > LONGEST_MESSAGE:
            lines.append(f"- **{escape(view.name)}**: {escape_prose(message)}")
    return [*lines, ""] if lines else []


def _status(report: Report, view: StoreView) -> str:
    """A store's state in one cell: stopped, guarded, or how its changes went."""
    guard = view.plan.guard if view.plan is not None else None
    error = view.error_besides_guard
    if error is not None:
        return f"**stopped**: {_message(error)}"
    if guard is not None and guard.tripped:
        message = _message(guard.message or guard_numbers(guard))
        verdict = "guard tripped, allowed" if guard.allowed else "**guard tripped**"
        return f"{verdict}: {message}"
    if not report.applied or view.plan is None:
        return "ok"
    return _outcome_counts(report, view.plan)


def _outcome_counts(report: Report, plan: StorePlan) -> str:
    results = [report.outcome(c) for c in (*plan.pulls, *plan.pushes)]
    counts = Counter(r.outcome.value if r else "not attempted" for r in results)
    problems = [
        f"{n:,} {name}" for name, n in sorted(counts.items()) if name != "applied"
    ]
    return ", ".join(problems) if problems else "ok"


def _changes(report: Report, room: int) -> str:
    """The changes table, most important first, within ``room`` characters."""
    changes = [c for s in report.plan.stores for c in (*s.pulls, *s.pushes)]
    if not changes:
        return ""

    header = _changes_header(report)
    rows: list[str] = []
    used = len(header)
    for change in sorted(changes, key=lambda c: _rank(report, c)):
        row = _change_row(report, change)
        if used + len(row) > room:
            break
        rows.append(row)
        used += len(row)

    shown = header + "".join(rows) if rows else ""
    rest = len(changes) - len(rows)
    return shown + (_more_line(rest) if rest else "\n")


def _changes_header(report: Report) -> str:
    columns = ["store", "SKU", "sync", "change", "label"]
    if report.applied:
        columns.append("outcome")
    order = "not applied first, then " if report.applied else ""
    return (
        f"#### Changes ({order}zeroing first, then largest quantity moves)\n\n"
        f"| {' | '.join(columns)} |\n"
        f"|{' --- |' * len(columns)}\n"
    )


def _rank(report: Report, change: Change) -> tuple[bool, bool, int, str, str]:
    result = report.outcome(change)
    failed = report.applied and (
        result is None or result.outcome is not Outcome.APPLIED
    )
    written = report.written(change)
    return (not failed, not written.zeroes, -_moved(written), change.store, change.sku)


def _moved(change: Change) -> int:
    """How far the change moves the quantity (an unset side counts as 0)."""
    for field in change.fields:
        if field.field == QUANTITY_AVAILABLE:
            return abs(_number(field.after) - _number(field.before))
    return 0


def _number(value: bool | int | None) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _change_row(report: Report, change: Change) -> str:
    sync = "pull to hub" if change.target is Side.HUB else "push to store"
    fields = ", ".join(
        f"{f.field} {show_value(f.before)} → {show_value(f.after)}"
        for f in report.written(change).fields
    )
    label = change.label.value
    if change.note:
        label += f": {escape(change.note)}"
    cells = [escape(change.store), _sku(change.sku), sync, escape(fields), label]
    if report.applied:
        outcome = outcome_text(report.outcome(change), report.replan_note(change))
        cells.append(_message(outcome))
    return "| " + " | ".join(cells) + " |\n"


def _more_line(rest: int) -> str:
    noun = "change" if rest == 1 else "changes"
    return (
        f"\n…and {rest:,} more {noun} (the text and JSON reports list every one).\n\n"
    )


def _left_alone(report: Report, limit: int) -> str:
    """Held, skipped and conflicting SKUs as counts with the first few named."""
    lines: list[str] = []
    for view in report.stores():
        if view.plan is not None:
            lines.extend(_store_left_alone(view.plan, limit))
    conflicts = by_sku(report.plan.conflicts)
    if conflicts:
        names = [
            f"{_sku(c.sku)} ({escape(', '.join(sorted(c.stores)))})" for c in conflicts
        ]
        lines.append(
            f"- conflicts {len(conflicts):,} (two master stores): "
            + first_few(names, limit)
        )
    if not lines:
        return ""
    return "#### Left alone\n\n" + "\n".join(lines) + "\n"


def _store_left_alone(plan: StorePlan, limit: int) -> list[str]:
    entries = [("held", escape(h.reason), h.sku) for h in plan.held]
    entries.extend(("skipped", escape(s.reason), s.sku) for s in plan.skipped)
    groups: dict[tuple[str, str], list[str]] = {}
    for what, reason, sku in sorted(entries):
        groups.setdefault((what, reason), []).append(_sku(sku))
    store = escape(plan.store)
    lines = []
    for (what, reason), skus in groups.items():
        lines.append(
            f"- **{store}** {what} {len(skus):,} ({reason}): {first_few(skus, limit)}"
        )
        if what == "skipped":
            alike = [s for s in plan.skipped if escape(s.reason) == reason]
            lines.extend(f"  - {escape_prose(why)}" for why in skip_details(alike))
    hint = import_hint(plan)
    if hint is not None:
        lines.append(f"- **{store}** hint: {escape_prose(hint)}")
    return lines


def _bounded(comment: str, max_chars: int) -> str:
    """The comment cut at a line boundary when fixed parts alone overflow."""
    if len(comment) <= max_chars:
        return comment
    room = max(0, max_chars - len(_CUT_NOTE))
    cut = comment[:room]
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else ""
    return (cut + _CUT_NOTE)[:max_chars]

"""Testers' findings on the store blocks: headings, the guard's text, hints,
and re-planned changes, across the text and Markdown reports."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from reconciler.apply.executor import ChangeResult, StoreFailure
from reconciler.channels.base import Outcome
from reconciler.plan.model import (
    MANAGE_INVENTORY,
    QUANTITY_AVAILABLE,
    FieldChange,
    Label,
    Plan,
    Side,
    Skipped,
    SkipReason,
    StorePlan,
)
from reconciler.report import Report, StoreView, render_result, store_heading
from reconciler.runner import PassResult
from tests.report.plans import CREATED, full_plan, quantity_change

HINT = "the hub has no record of these SKUs; load it with `reconcile import FILE.csv`"


def master_store(*, pushes: int, pulls: int = 0, unknown: int = 0) -> StorePlan:
    """magento-eu, master by default, with vendor overrides pushing to it."""
    return StorePlan(
        "magento-eu",
        "channel_to_hub",
        pulls=tuple(
            quantity_change("magento-eu", f"P-{n}", 1, 2, target=Side.HUB)
            for n in range(pulls)
        ),
        pushes=tuple(
            quantity_change("magento-eu", f"Q-{n}", 1, 2) for n in range(pushes)
        ),
        skipped=tuple(
            Skipped("magento-eu", f"U-{n}", SkipReason.UNKNOWN_TO_HUB)
            for n in range(unknown)
        ),
    )


@pytest.mark.parametrize(
    ("view", "heading"),
    [
        pytest.param(
            StoreView("magento-eu", master_store(pushes=0)),
            "magento-eu (default channel_to_hub)",
            id="nothing-to-do",
        ),
        pytest.param(
            StoreView("magento-eu", master_store(pushes=0, pulls=1)),
            "magento-eu (default channel_to_hub; this plan: 1 pull)",
            id="one-pull",
        ),
        pytest.param(
            StoreView("magento-eu", master_store(pushes=621, pulls=54)),
            "magento-eu (default channel_to_hub; this plan: 54 pulls, 621 pushes)",
            id="overrides-push-to-a-master",
        ),
        pytest.param(
            StoreView("magento-us", None, ("read: HTTP 503",)),
            "magento-us",
            id="no-plan",
        ),
    ],
)
def test_store_heading_says_what_this_plan_does(view: StoreView, heading: str) -> None:
    assert store_heading(view) == heading


def test_guard_text_is_printed_once_when_the_run_records_it_as_a_failure() -> None:
    plan = full_plan()
    outlet = plan.store("shopify-outlet")
    assert outlet is not None and outlet.guard is not None
    guard_failure = StoreFailure("shopify-outlet", "guard", outlet.guard.message or "")
    result = PassResult(plan, failures=(guard_failure,), run_id=8, applied=True)

    text = render_result(result, "text")

    block = text.split("\n\n")[2].splitlines()
    assert block == [
        "shopify-outlet (default hub_to_channel; this plan: 2 pushes)",
        "  guard tripped, nothing applied: shopify-outlet zeroes 2 of 2 SKUs,"
        " over guard.max_zeroed 5%",
        "  shopify-outlet <- hub  MH03-L-Green  quantity_available 8 -> 0  [update]"
        "  => not attempted",
        "  shopify-outlet <- hub  MH04-L-Green  quantity_available 9 -> 0  [update]"
        "  => not attempted",
    ]


def test_guard_failure_beside_another_error_keeps_the_other() -> None:
    """The guard's own message may hold "; ", the join of a store's errors."""
    plan = full_plan()
    outlet = plan.store("shopify-outlet")
    assert outlet is not None and outlet.guard is not None
    message = "plan zeroes 2 of 2; guard.max_zeroed is 5% in stores/x.yaml:9"
    outlet = replace(outlet, guard=replace(outlet.guard, message=message))
    errors = ("write: HTTP 503", f"guard: {message}")

    view = StoreView("shopify-outlet", outlet, errors)

    assert view.error_besides_guard == "write: HTTP 503"
    assert view.error == f"write: HTTP 503; guard: {message}"
    assert StoreView("shopify-outlet", outlet, errors[1:]).error_besides_guard is None


@pytest.mark.parametrize(
    ("store", "fmt", "hint_line"),
    [
        pytest.param(
            master_store(pushes=0, unknown=1993),
            "text",
            f"  hint: {HINT}",
            id="text",
        ),
        pytest.param(
            master_store(pushes=0, unknown=2),
            "markdown",
            f"- **magento-eu** hint: {HINT}",
            id="markdown",
        ),
    ],
)
def test_master_store_with_skus_unknown_to_the_hub_hints_at_import(
    store: StorePlan, fmt: str, hint_line: str
) -> None:
    plan = Plan(stores=(store,), conflicts=(), created_at=CREATED)

    report = render_result(PassResult(plan, dry_run=True), fmt)

    assert hint_line in report.splitlines()


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_store_taking_the_hubs_values_gets_no_import_hint(fmt: str) -> None:
    store = dataclasses.replace(
        master_store(pushes=0, unknown=3), direction="hub_to_channel"
    )
    plan = Plan(stores=(store,), conflicts=(), created_at=CREATED)

    report = render_result(PassResult(plan, dry_run=True), fmt)

    assert "hint:" not in report


def test_re_plan_that_found_tracking_changed_names_both_fields() -> None:
    planned = quantity_change("shopify-us", "MT07-S-Gray", 5, 6, label=Label.DRIFT)
    fresh = planned._replace(
        fields=(
            FieldChange(MANAGE_INVENTORY, False, True),
            FieldChange(QUANTITY_AVAILABLE, None, 6),
        ),
        expected_managed=False,
        expected_quantity=None,
    )
    store = StorePlan("shopify-us", "hub_to_channel", pushes=(planned,))
    plan = Plan(stores=(store,), conflicts=(), created_at=CREATED)
    result = PassResult(
        plan,
        results=(ChangeResult(fresh, Outcome.APPLIED, planned=planned),),
        run_id=3,
        applied=True,
    )

    markdown = render_result(result, "markdown")

    assert (
        "| shopify-us | MT07-S-Gray | push to store | manage\\_inventory false → true,"
        " quantity\\_available unset → 6 | drift | applied (re-planned after a"
        " concurrent change: manage\\_inventory true -\\> false, quantity\\_available"
        " 5 -\\> unset on the channel) |"
    ) in markdown.splitlines()


def test_report_without_re_plans_shows_changes_as_planned() -> None:
    plan = full_plan()
    report = Report(plan, dry_run=False)

    changes = [c for s in plan.stores for c in (*s.pulls, *s.pushes)]

    assert [report.written(c) for c in changes] == changes
    assert [report.replan_note(c) for c in changes] == [None] * len(changes)

"""The text report, compared whole for small plans."""

from __future__ import annotations

import pytest

from reconciler.plan.model import Plan
from reconciler.report import render
from tests.report.plans import (
    STORE_ERRORS,
    empty_plan,
    full_outcomes,
    full_plan,
    in_sync_plan,
    small_plan,
)


def lines(*text: str) -> str:
    return "\n".join(text) + "\n"


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        pytest.param(
            empty_plan(),
            lines("No changes. The stores match their masters."),
            id="empty",
        ),
        pytest.param(
            in_sync_plan(),
            lines(
                "magento-eu (default channel_to_hub)",
                "  no changes",
                "",
                "shopify-us (default hub_to_channel)",
                "  no changes",
                "",
                "No changes. The stores match their masters.",
            ),
            id="in-sync",
        ),
        pytest.param(
            small_plan(),
            lines(
                "magento-eu (default channel_to_hub; this plan: 1 pull)",
                "  hub <- magento-eu  MH01-XS-Black  quantity_available 5 -> 3"
                "  [drift]",
                "",
                "shopify-us (default hub_to_channel; this plan: 2 pushes)",
                "  shopify-us <- hub  MH01-XS-Black  quantity_available 5 -> 3"
                "  [update]",
                "  shopify-us <- hub  MH02-S-Blue  quantity_available 7 -> 3  [update]",
                "",
                "Plan: 1 to pull into the hub, 2 to push to stores, 0 held,"
                " 0 conflicts, 0 skipped.",
            ),
            id="pull-then-push",
        ),
    ],
)
def test_small_plans_render_whole(plan: Plan, expected: str) -> None:
    assert render(plan, "text") == expected


def test_plan_with_every_kind_of_entry() -> None:
    text = render(full_plan(), "text")

    assert text == lines(
        "magento-eu (default channel_to_hub; this plan: 2 pulls)",
        "  hub <- magento-eu  MH01-XS-Black  quantity_available 5 -> 3  [drift]",
        "  hub <- magento-eu  WS03-M-Red  quantity_available 0 -> 12  [new]",
        "  skipped 1 (conflict): MJ12-L-Gray",
        "  skipped 1 (unknown_to_hub): ZZ-UNLISTED",
        "  hint: the hub has no record of these SKUs; load it with"
        " `reconcile import FILE.csv`",
        "",
        "shopify-outlet (default hub_to_channel; this plan: 2 pushes)",
        "  guard tripped, nothing applied: shopify-outlet zeroes 2 of 2 SKUs,"
        " over guard.max_zeroed 5%",
        "  shopify-outlet <- hub  MH03-L-Green  quantity_available 8 -> 0  [update]",
        "  shopify-outlet <- hub  MH04-L-Green  quantity_available 9 -> 0  [update]",
        "",
        "shopify-us (default hub_to_channel; this plan: 3 pushes)",
        "  guard tripped, allowed for this run: shopify-us zeroes 1 of 50 SKUs"
        " (2%), over guard.max_zeroed 1%",
        "  shopify-us <- hub  MH01-XS-Black  quantity_available 5 -> 3  [update]",
        "  shopify-us <- hub  MS04-M-Blue  quantity_available 2 -> 0"
        "  [negative: hub quantity -3 pushed as 0]",
        "  shopify-us <- hub  MT07-S-Gray  manage_inventory false -> true,"
        " quantity_available unset -> 6  [untracked]",
        "  held 6 (manual): WB01-S, WB02-S, WB03-S, WB04-S, WB05-S, +1 more",
        "  skipped 1 (conflict): MJ12-L-Gray",
        "  skipped 1 (not_stocked): MP10-32-Black",
        "    why: not stocked at Main warehouse",
        "",
        "conflicts 1 (two master stores, left alone): MJ12-L-Gray"
        " (magento-eu, shopify-us)",
        "",
        "Plan: 2 to pull into the hub, 5 to push to stores, 6 held, 1 conflict,"
        " 4 skipped, 1 store stopped.",
    )


def test_applied_run_shows_each_outcome_and_stopped_stores() -> None:
    text = render(
        full_plan(),
        "text",
        outcomes=full_outcomes(),
        store_errors=STORE_ERRORS,
        run_id=7,
        dry_run=False,
    )

    assert text == lines(
        "Run 7",
        "",
        "magento-eu (default channel_to_hub; this plan: 2 pulls)",
        "  hub <- magento-eu  MH01-XS-Black  quantity_available 5 -> 3  [drift]"
        "  => applied",
        "  hub <- magento-eu  WS03-M-Red  quantity_available 0 -> 12  [new]"
        "  => applied",
        "  skipped 1 (conflict): MJ12-L-Gray",
        "  skipped 1 (unknown_to_hub): ZZ-UNLISTED",
        "  hint: the hub has no record of these SKUs; load it with"
        " `reconcile import FILE.csv`",
        "",
        "magento-us",
        "  stopped: read failed: HTTP 503 from the channel after 4 attempts",
        "",
        "shopify-outlet (default hub_to_channel; this plan: 2 pushes)",
        "  guard tripped, nothing applied: shopify-outlet zeroes 2 of 2 SKUs,"
        " over guard.max_zeroed 5%",
        "  shopify-outlet <- hub  MH03-L-Green  quantity_available 8 -> 0  [update]"
        "  => not attempted",
        "  shopify-outlet <- hub  MH04-L-Green  quantity_available 9 -> 0  [update]"
        "  => not attempted",
        "",
        "shopify-us (default hub_to_channel; this plan: 3 pushes)",
        "  guard tripped, allowed for this run: shopify-us zeroes 1 of 50 SKUs"
        " (2%), over guard.max_zeroed 1%",
        "  shopify-us <- hub  MH01-XS-Black  quantity_available 5 -> 3  [update]"
        "  => applied",
        "  shopify-us <- hub  MS04-M-Blue  quantity_available 2 -> 0"
        "  [negative: hub quantity -3 pushed as 0]"
        "  => refused (INVALID_QUANTITY): Quantity cannot be set for this item",
        "  shopify-us <- hub  MT07-S-Gray  manage_inventory false -> true,"
        " quantity_available unset -> 6  [untracked]"
        "  => stale: available changed from 6 to 5",
        "  held 6 (manual): WB01-S, WB02-S, WB03-S, WB04-S, WB05-S, +1 more",
        "  skipped 1 (conflict): MJ12-L-Gray",
        "  skipped 1 (not_stocked): MP10-32-Black",
        "    why: not stocked at Main warehouse",
        "",
        "conflicts 1 (two master stores, left alone): MJ12-L-Gray"
        " (magento-eu, shopify-us)",
        "",
        "Applied: 2 pulled into the hub, 1 pushed to stores, 1 stale, 1 refused,"
        " 0 deferred, 0 failed, 2 not attempted, 6 held, 1 conflict, 4 skipped,"
        " 2 stores stopped.",
    )


def test_no_changes_still_counts_what_was_left_alone() -> None:
    plan = full_plan()
    quiet = Plan(
        stores=tuple(
            type(s)(s.store, s.direction, held=s.held, skipped=s.skipped)
            for s in plan.stores
        ),
        conflicts=plan.conflicts,
        created_at=plan.created_at,
    )

    summary = render(quiet, "text").splitlines()[-1]

    assert summary == (
        "No changes to apply. Left alone, and may still differ: 6 held, 1 conflict,"
        " 4 skipped. Held items sync when a run names them (--sku, --include-manual)."
    )


def test_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown report format 'yaml'; choose one"):
        render(small_plan(), "yaml")

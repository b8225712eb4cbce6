"""The Markdown report: exact for small plans, bounded for huge ones."""

from __future__ import annotations

import pytest

from reconciler.plan.model import Plan, StorePlan
from reconciler.report import Report, render
from reconciler.report.markdown import render_markdown
from tests.report.plans import (
    CREATED,
    STORE_ERRORS,
    empty_plan,
    full_outcomes,
    full_plan,
    quantity_change,
    small_plan,
)


def lines(*text: str) -> str:
    return "\n".join(text) + "\n"


STORE_TABLE_HEAD = (
    "| store | default direction | to pull | to push | held | skipped | status |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- |",
)


def test_empty_plan() -> None:
    assert render(empty_plan(), "markdown") == lines(
        "### Inventory plan",
        "",
        "No changes. The stores match their masters.",
    )


def test_small_plan_orders_changes_by_quantity_moved() -> None:
    assert render(small_plan(), "markdown") == lines(
        "### Inventory plan",
        "",
        "Plan: 1 to pull into the hub, 2 to push to stores, 0 held, 0 conflicts,"
        " 0 skipped.",
        "",
        *STORE_TABLE_HEAD,
        "| magento-eu | channel\\_to\\_hub | 1 | 0 | 0 | 0 | ok |",
        "| shopify-us | hub\\_to\\_channel | 0 | 2 | 0 | 0 | ok |",
        "",
        "#### Changes (zeroing first, then largest quantity moves)",
        "",
        "| store | SKU | sync | change | label |",
        "| --- | --- | --- | --- | --- |",
        "| shopify-us | MH02-S-Blue | push to store | quantity\\_available 7 → 3"
        " | update |",
        "| magento-eu | MH01-XS-Black | pull to hub | quantity\\_available 5 → 3"
        " | drift |",
        "| shopify-us | MH01-XS-Black | push to store | quantity\\_available 5 → 3"
        " | update |",
    )


def test_applied_run_puts_changes_not_applied_first() -> None:
    comment = render(
        full_plan(),
        "markdown",
        outcomes=full_outcomes(),
        store_errors=STORE_ERRORS,
        run_id=7,
        dry_run=False,
    )

    assert comment == lines(
        "### Inventory run 7",
        "",
        "Applied: 2 pulled into the hub, 1 pushed to stores, 1 stale, 1 refused,"
        " 0 deferred, 0 failed, 2 not attempted, 6 held, 1 conflict, 4 skipped,"
        " 2 stores stopped.",
        "",
        *STORE_TABLE_HEAD,
        "| magento-eu | channel\\_to\\_hub | 2 | 0 | 0 | 2 | ok |",
        "| magento-us | - | 0 | 0 | 0 | 0 | **stopped**: read failed: HTTP 503"
        " from the channel after 4 attempts |",
        "| shopify-outlet | hub\\_to\\_channel | 0 | 2 | 0 | 0 | **guard tripped**:"
        " shopify-outlet zeroes 2 of 2 SKUs, over guard.max\\_zeroed 5% |",
        "| shopify-us | hub\\_to\\_channel | 0 | 3 | 6 | 2 | guard tripped, allowed:"
        " shopify-us zeroes 1 of 50 SKUs (2%), over guard.max\\_zeroed 1% |",
        "",
        "#### Changes (not applied first, then zeroing first, then largest"
        " quantity moves)",
        "",
        "| store | SKU | sync | change | label | outcome |",
        "| --- | --- | --- | --- | --- | --- |",
        "| shopify-outlet | MH04-L-Green | push to store | quantity\\_available 9 → 0"
        " | update | not attempted |",
        "| shopify-outlet | MH03-L-Green | push to store | quantity\\_available 8 → 0"
        " | update | not attempted |",
        "| shopify-us | MS04-M-Blue | push to store | quantity\\_available 2 → 0"
        " | negative: hub quantity -3 pushed as 0 | refused (INVALID\\_QUANTITY):"
        " Quantity cannot be set for this item |",
        "| shopify-us | MT07-S-Gray | push to store | manage\\_inventory false → true,"
        " quantity\\_available unset → 6 | untracked | stale: available changed"
        " from 6 to 5 |",
        "| magento-eu | WS03-M-Red | pull to hub | quantity\\_available 0 → 12"
        " | new | applied |",
        "| magento-eu | MH01-XS-Black | pull to hub | quantity\\_available 5 → 3"
        " | drift | applied |",
        "| shopify-us | MH01-XS-Black | push to store | quantity\\_available 5 → 3"
        " | update | applied |",
        "",
        "#### Left alone",
        "",
        "- **magento-eu** skipped 1 (conflict): MJ12-L-Gray",
        "- **magento-eu** skipped 1 (unknown\\_to\\_hub): ZZ-UNLISTED",
        "- **magento-eu** hint: the hub has no record of these SKUs; load it with"
        " `reconcile import FILE.csv`",
        "- **shopify-us** held 6 (manual): WB01-S, WB02-S, WB03-S, WB04-S, WB05-S,"
        " +1 more",
        "- **shopify-us** skipped 1 (conflict): MJ12-L-Gray",
        "- **shopify-us** skipped 1 (not\\_stocked): MP10-32-Black",
        "  - why: not stocked at Main warehouse",
        "- conflicts 1 (two master stores): MJ12-L-Gray (magento-eu, shopify-us)",
    )


@pytest.mark.parametrize(
    ("sku", "cell"),
    [
        pytest.param("A|B", "A\\|B", id="pipe"),
        pytest.param("A`B`", "A\\`B\\`", id="backtick"),
        pytest.param("*bold*_x_", "\\*bold\\*\\_x\\_", id="emphasis"),
        pytest.param("a\nb", "a b", id="newline"),
    ],
)
def test_skus_cannot_break_the_table(sku: str, cell: str) -> None:
    change = quantity_change("shopify-us", sku, 1, 2)
    store = StorePlan("shopify-us", "hub_to_channel", pushes=(change,))
    plan = Plan(stores=(store,), conflicts=(), created_at=CREATED)

    rows = render(plan, "markdown").splitlines()

    assert rows[-1] == (
        f"| shopify-us | {cell} | push to store | quantity\\_available 1 → 2 | update |"
    )


def huge_plan(count: int) -> Plan:
    """One store with ``count`` pushes; every 1,000th zeroes a quantity."""
    pushes = tuple(
        quantity_change(
            "shopify-us", f"SKU-{i:06d}", 40 + i % 7, 0 if i % 1000 == 0 else 1 + i % 5
        )
        for i in range(count)
    )
    store = StorePlan("shopify-us", "hub_to_channel", pushes=pushes)
    return Plan(stores=(store,), conflicts=(), created_at=CREATED)


@pytest.fixture(scope="module")
def hundred_thousand() -> Plan:
    return huge_plan(100_000)


@pytest.mark.parametrize("max_chars", [60_000, 65_536, 8_000], ids=str)
def test_size_bound_holds_for_100000_changes(
    hundred_thousand: Plan, max_chars: int
) -> None:
    comment = render_markdown(Report(hundred_thousand), max_chars=max_chars)

    rows = [row for row in comment.splitlines() if "| push to store |" in row]
    more = comment.splitlines()[-1]
    assert len(comment) <= max_chars
    assert more == (
        f"…and {100_000 - len(rows):,} more changes"
        " (the text and JSON reports list every one)."
    )


def test_zeroing_changes_come_first(hundred_thousand: Plan) -> None:
    comment = render_markdown(Report(hundred_thousand), max_chars=4_000)

    rows = [row for row in comment.splitlines() if "| push to store |" in row]
    assert [row.split(" | ")[1] for row in rows[:4]] == [
        "SKU-001000",  # 46 -> 0
        "SKU-008000",  # 46 -> 0
        "SKU-015000",  # 46 -> 0
        "SKU-022000",  # 46 -> 0
    ]
    assert len(rows) > 4
    assert all(row.endswith(" → 0 | update |") for row in rows)


def test_after_the_zeroing_changes_come_the_largest_moves(
    hundred_thousand: Plan,
) -> None:
    comment = render_markdown(Report(hundred_thousand))

    rows = [row for row in comment.splitlines() if "| push to store |" in row]
    assert all(row.endswith(" → 0 | update |") for row in rows[:100])
    assert [row.split(" | ")[1] for row in rows[100:103]] == [
        "SKU-000020",  # 46 -> 1
        "SKU-000055",  # 46 -> 1
        "SKU-000090",  # 46 -> 1
    ]


def test_a_tiny_bound_still_holds_and_says_it_cut() -> None:
    comment = render_markdown(Report(full_plan()), max_chars=300)

    assert len(comment) <= 300
    assert comment.endswith(
        "\n_The comment was cut here to stay within its size limit._\n"
    )

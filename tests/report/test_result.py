"""Rendering a pass's own result, as the command line does."""

from __future__ import annotations

import json

from reconciler.apply.executor import ChangeResult, StoreFailure
from reconciler.channels.base import Outcome
from reconciler.report import render_result
from reconciler.runner import PassResult
from tests.report.plans import small_plan


def mixed_result() -> PassResult:
    plan = small_plan()
    magento, shopify = plan.store("magento-eu"), plan.store("shopify-us")
    assert magento is not None and shopify is not None
    first, second = sorted(shopify.pushes, key=lambda change: change.sku)
    return PassResult(
        plan=plan,
        results=(
            ChangeResult(magento.pulls[0], Outcome.APPLIED),
            ChangeResult(first, Outcome.DEFERRED, message="throttled 5 times"),
            ChangeResult(
                second, Outcome.FAILED, code="MISMATCH", message="read back 4"
            ),
        ),
        failures=(
            StoreFailure("shopify-us", "write", "2 items not applied"),
            StoreFailure("shopify-us", "read", "page 3 timed out"),
        ),
        run_id=31,
        applied=True,
        exit_code=1,
    )


def test_applied_result_with_deferred_and_failed_items() -> None:
    text = render_result(mixed_result(), "text")

    assert text.splitlines() == [
        "Run 31",
        "",
        "magento-eu (default channel_to_hub; this plan: 1 pull)",
        "  hub <- magento-eu  MH01-XS-Black  quantity_available 5 -> 3  [drift]"
        "  => applied",
        "",
        "shopify-us (default hub_to_channel; this plan: 2 pushes)",
        "  stopped: write: 2 items not applied; read: page 3 timed out",
        "  shopify-us <- hub  MH01-XS-Black  quantity_available 5 -> 3  [update]"
        "  => deferred: throttled 5 times",
        "  shopify-us <- hub  MH02-S-Blue  quantity_available 7 -> 3  [update]"
        "  => failed (MISMATCH): read back 4",
        "",
        "Applied: 1 pulled into the hub, 0 pushed to stores, 0 stale, 0 refused,"
        " 1 deferred, 1 failed, 0 held, 0 conflicts, 0 skipped, 1 store stopped.",
    ]


def test_a_result_that_applied_nothing_renders_as_a_plan() -> None:
    result = PassResult(plan=small_plan(), dry_run=True)

    document = json.loads(render_result(result, "json"))

    assert (document["kind"], document["dry_run"], document["run_id"]) == (
        "plan",
        True,
        None,
    )

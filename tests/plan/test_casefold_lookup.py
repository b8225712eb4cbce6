"""A casefolding store (Magento) finds each hub SKU whatever its letter case:
by the hub's spelling first, casefolding only the SKUs that miss, or all of
them when most miss. Every way gives the same plan."""

from __future__ import annotations

import pytest

from reconciler.config.model import Direction
from reconciler.plan.planner import make_plan
from reconciler.policy import Policy
from tests.plan.builders import AT, hub, item, repository, snapshot, store

HUB_SKUS = ["AB-1", "AB-2", "AB-3", "AB-4"]


@pytest.mark.parametrize(
    "channel_skus",
    [
        pytest.param(["AB-1", "AB-2", "AB-3", "AB-4"], id="all-spelled-as-the-hub"),
        pytest.param(["AB-1", "AB-2", "AB-3", "ab-4"], id="one-in-another-case"),
        pytest.param(["ab-1", "ab-2", "ab-3", "Ab-4"], id="all-in-another-case"),
    ],
)
def test_every_hub_sku_is_found_whatever_its_case(channel_skus: list[str]) -> None:
    policy = Policy(repository(store("eu", Direction.HUB_TO_CHANNEL, magento=True)))
    records = hub(*((sku, True, 5) for sku in HUB_SKUS))
    items = [item(sku, quantity=n) for n, sku in enumerate(channel_skus, start=3)]
    snapshots = {"eu": snapshot("eu", *items, casefold=True)}

    plan = make_plan(policy, records, snapshots, {}, now=AT)

    eu = plan.store("eu")
    assert eu is not None
    assert eu.skipped == ()
    assert [(c.sku, c.ref, c.expected_quantity) for c in eu.pushes] == [
        ("AB-1", f"ref-{channel_skus[0]}", 3),
        ("AB-2", f"ref-{channel_skus[1]}", 4),
        ("AB-4", f"ref-{channel_skus[3]}", 6),
    ]

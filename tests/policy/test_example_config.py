"""The example config in ``config/`` loads cleanly and shows what the demo needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.policy import Policy, load_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(EXAMPLE)


def summary(
    policy: Policy, store: str, sku: str, vendor: str | None = None
) -> tuple[str, ...]:
    resolved = policy.for_sku(store, sku, vendor)
    managed = resolved.manage_inventory
    return (
        f"{resolved.direction.value} ({resolved.direction.level})",
        f"{resolved.mode.value} ({resolved.mode.level})",
        f"{resolved.interval.value} ({resolved.interval.level})",
        "from hub" if managed is None else f"{managed.value} ({managed.level})",
    )


@pytest.mark.parametrize(
    ("store", "sku", "vendor", "expected"),
    [
        pytest.param(
            "magento-eu",
            "MJ01-XS-Orange",
            None,
            ("channel_to_hub (store)", "automatic (store)", "300 (store)", "from hub"),
            id="master-store-feeds-the-hub",
        ),
        pytest.param(
            "shopify-us",
            "MJ01-XS-Orange",
            None,
            ("hub_to_channel (store)", "automatic (store)", "120 (store)", "from hub"),
            id="hub-feeds-the-other-store",
        ),
        pytest.param(
            "shopify-us",
            "MH01-M-Orange",
            None,
            (
                "hub_to_channel (store)",
                "manual (vendor+store)",
                "600 (vendor)",
                "True (product)",
            ),
            id="held-manual-item",
        ),
        pytest.param(
            "shopify-us",
            "MH05-XS-Red",
            "hoodies",
            (
                "hub_to_channel (store)",
                "manual (vendor+store)",
                "600 (vendor)",
                "from hub",
            ),
            id="vendor-from-hub-manual",
        ),
        pytest.param(
            "shopify-us",
            "MH02-XS-Purple",
            None,
            (
                "hub_to_channel (store)",
                "automatic (product)",
                "600 (vendor)",
                "from hub",
            ),
            id="product-overrides-one-setting",
        ),
        pytest.param(
            "shopify-us",
            "MH03-XS-Black",
            None,
            (
                "none (product+store)",
                "manual (vendor+store)",
                "600 (vendor)",
                "from hub",
            ),
            id="not-synced-to-one-store",
        ),
        pytest.param(
            "magento-eu",
            "MS03-S-Green",
            None,
            (
                "hub_to_channel (vendor+store)",
                "automatic (vendor)",
                "900 (vendor)",
                "False (product)",
            ),
            id="untracked-product",
        ),
    ],
)
def test_the_example_resolves_what_the_demo_shows(
    policy: Policy, store: str, sku: str, vendor: str | None, expected: tuple[str, ...]
) -> None:
    assert summary(policy, store, sku, vendor) == expected


def test_the_example_has_one_shopify_and_one_magento_store_on_sandboxes(
    policy: Policy,
) -> None:
    stores = [
        (store.name, store.channel.type, store.channel.endpoint, store.channel.seed)
        for store in policy.stores()
    ]

    assert sorted(stores) == [
        (
            "magento-eu",
            "magento",
            "sandbox://magento-eu",
            "fixtures/magento-eu-catalog.csv",
        ),
        (
            "shopify-us",
            "shopify",
            "sandbox://shopify-us",
            "fixtures/shopify-us-products.csv",
        ),
    ]


def test_the_example_seed_files_exist(policy: Policy) -> None:
    seeds = [EXAMPLE / str(store.channel.seed) for store in policy.stores()]

    assert [seed.is_file() for seed in seeds] == [True, True]

"""Which vendor a SKU resolves under, and how resolution is shared."""

from __future__ import annotations

import pytest

from reconciler import policy as policy_module
from reconciler.config.model import Direction, Mode
from reconciler.policy import (
    BUILT_IN_INTERVAL,
    Decided,
    EffectivePolicy,
    Level,
    Policy,
)

from .builders import at, override, product, repository, store, vendor


def two_vendors() -> Policy:
    """acme is manual everywhere and lists two SKUs; globex is unknown to it."""
    acme = vendor(
        "acme",
        override("vendors/acme.yaml", 5, mode=Mode.MANUAL),
        products=[
            product("MH01-XS-Black", 20),
            product("MH02-XS-Red", 30, override("vendors/acme.yaml", 31, interval=60)),
        ],
    )
    return Policy(repository([store("shop", interval=None)], [acme]))


def test_a_listed_sku_takes_its_vendor_from_the_config_over_the_caller() -> None:
    policy = two_vendors()

    resolved = policy.for_sku("shop", "MH01-XS-Black", vendor="globex")

    assert resolved == EffectivePolicy(
        store="shop",
        sku="MH01-XS-Black",
        vendor="acme",
        direction=Decided(
            Direction.HUB_TO_CHANNEL, Level.STORE, at("stores/shop.yaml", 10)
        ),
        mode=Decided(Mode.MANUAL, Level.VENDOR, at("vendors/acme.yaml", 6)),
        interval=BUILT_IN_INTERVAL,
        manage_inventory=None,
    )


def test_an_unlisted_sku_resolves_under_the_vendor_the_caller_names() -> None:
    policy = two_vendors()

    resolved = policy.for_sku("shop", "MS01-XS-Black", vendor="acme")

    assert (resolved.vendor, resolved.mode) == (
        "acme",
        Decided(Mode.MANUAL, Level.VENDOR, at("vendors/acme.yaml", 6)),
    )


@pytest.mark.parametrize(
    "named", [None, "globex"], ids=["no-vendor", "vendor-without-file"]
)
def test_an_unlisted_sku_without_a_vendor_file_gets_the_store_defaults(
    named: str | None,
) -> None:
    policy = two_vendors()

    resolved = policy.for_sku("shop", "MS01-XS-Black", vendor=named)

    assert resolved == EffectivePolicy(
        store="shop",
        sku="MS01-XS-Black",
        vendor=named,
        direction=Decided(
            Direction.HUB_TO_CHANNEL, Level.STORE, at("stores/shop.yaml", 10)
        ),
        mode=Decided(Mode.AUTOMATIC, Level.STORE, at("stores/shop.yaml", 11)),
        interval=BUILT_IN_INTERVAL,
        manage_inventory=None,
    )


def test_vendor_of_answers_from_the_product_lists() -> None:
    policy = two_vendors()

    found = [policy.vendor_of(sku) for sku in ["MH02-XS-Red", "MS01-XS-Black"]]

    assert found == ["acme", None]


def test_stores_lists_every_configured_store() -> None:
    repo = repository([store("shop"), store("eu", magento=True)])

    names = [config.name for config in Policy(repo).stores()]

    assert names == ["shop", "eu"]


def test_an_unknown_store_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="nowhere"):
        two_vendors().for_sku("nowhere", "MH01-XS-Black")


def test_skus_without_product_overrides_resolve_once_per_store_and_vendor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = two_vendors()
    calls: list[int] = []
    real = policy_module._resolve

    def counting(layers: policy_module._Layers) -> policy_module.Resolved:
        calls.append(len(layers))
        return real(layers)

    monkeypatch.setattr(policy_module, "_resolve", counting)

    for number in range(1000):
        for vendor_name in ["acme", "globex", None]:
            policy.for_sku("shop", f"SKU-{number}", vendor_name)
    products = [policy.for_sku("shop", "MH02-XS-Red") for _ in range(3)]
    policy.for_sku("shop", "MH01-XS-Black")

    # acme (3 levels), then globex and no vendor (the store level only);
    # MH02-XS-Red builds on acme's result once, and MH01-XS-Black, which
    # overrides nothing, shares acme's.
    assert calls == [3, 1, 1]
    assert products[0] is products[1] is products[2]

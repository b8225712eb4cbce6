"""Resolving every distinct combination up front changes no answer."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from reconciler.config import load_repository
from reconciler.config.model import Direction, Mode
from reconciler.errors import ConfigInvalid
from reconciler.policy import Policy, master_conflicts

from .builders import override, product, repository, store, vendor

EXAMPLE = Path(__file__).resolve().parents[2] / "config"
C2H = Direction.CHANNEL_TO_HUB
NONE = Direction.NONE


def three_stores_two_vendors() -> Policy:
    """globex makes `eu` master; A-3 makes `eu` and `pos` master (a conflict);
    G-2 is master everywhere but on the two stores it turns off."""
    acme = vendor(
        "acme",
        override("vendors/acme.yaml", 5, mode=Mode.MANUAL),
        products=[
            product("A-1", 20),
            product("A-2", 30, override("vendors/acme.yaml", 31, interval=60)),
            product(
                "A-3",
                40,
                stores={
                    "eu": override("vendors/acme.yaml", 41, direction=C2H),
                    "pos": override("vendors/acme.yaml", 45, direction=C2H),
                },
            ),
        ],
    )
    globex = vendor(
        "globex",
        stores={"eu": override("vendors/globex.yaml", 5, direction=C2H)},
        products=[
            product("G-1", 50, override("vendors/globex.yaml", 51, mode=Mode.MANUAL)),
            product(
                "G-2",
                60,
                override("vendors/globex.yaml", 61, direction=C2H),
                {
                    "shop": override("vendors/globex.yaml", 65, direction=NONE),
                    "pos": override("vendors/globex.yaml", 70, direction=NONE),
                },
            ),
        ],
    )
    stores = [store("shop"), store("eu", magento=True), store("pos", mode=None)]
    return Policy(repository(stores, [acme, globex]))


def every_policy(policy: Policy) -> list[object]:
    skus = [*policy.repository.vendor_of, "UNLISTED"]
    return [policy.for_sku(s.name, sku) for s in policy.stores() for sku in skus]


def test_resolve_all_counts_store_vendor_pairs_and_products_with_overrides() -> None:
    policy = three_stores_two_vendors()

    # 3 stores x (acme, globex, no vendor) pairs, and, G-1 and G-2.
    assert policy.resolve_all() == 3 * 3 + 4


def test_policies_after_resolve_all_equal_those_resolved_on_demand() -> None:
    eager = three_stores_two_vendors()
    eager.resolve_all()

    assert every_policy(eager) == every_policy(three_stores_two_vendors())


def test_a_product_master_on_one_store_over_a_vendor_master_is_a_conflict() -> None:
    policy = three_stores_two_vendors()

    problems = master_conflicts(policy.repository)

    assert [(p.path, p.line) for p in problems] == [("vendors/acme.yaml", 41)]


@pytest.mark.parametrize("enabled", [True, False], ids=["was-on", "was-off"])
def test_loading_leaves_the_garbage_collector_as_it_found_it(
    tmp_path: Path, enabled: bool
) -> None:
    (tmp_path / "stores").mkdir()
    (tmp_path / "stores" / "shop.yaml").write_text("store: other\n")
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        load_repository(EXAMPLE)
        after_valid = gc.isenabled()
        with pytest.raises(ConfigInvalid):
            load_repository(tmp_path)
        after_invalid = gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()

    assert (after_valid, after_invalid) == (enabled, enabled)

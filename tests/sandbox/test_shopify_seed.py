"""Seeding the Shopify emulator from export files, and keeping its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ChannelConfigError
from reconciler.sandbox.base import SeedProblem
from reconciler.sandbox.shopify import ShopifyEmulator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shopify"


def stock(shop: ShopifyEmulator) -> list[tuple[str, bool, dict[str, int], str]]:
    """Every variant as (SKU, tracked, quantity per location name, policy)."""
    return [
        (
            v.sku,
            v.tracked,
            {shop.locations[key]: n for key, n in v.levels.items()},
            v.policy,
        )
        for v in sorted(shop.variants.values(), key=lambda v: v.id)
    ]


def test_product_export_seeds_valid_rows_and_reports_the_rest() -> None:
    shop, problems = ShopifyEmulator.from_export("us", FIXTURES / "products_export.csv")

    assert stock(shop) == [
        ("MUG-BLUE", True, {"Main warehouse": 12}, "DENY"),
        ("00123", True, {"Main warehouse": 5}, "DENY"),
        ("TEE-L", True, {"Main warehouse": -2}, "CONTINUE"),
        ("STICKER", False, {"Main warehouse": 0}, "DENY"),
        ("MUG-BLUE", True, {"Main warehouse": 4}, "DENY"),
    ]
    assert problems == [
        SeedProblem(5, "Variant SKU is empty; variant not seeded"),
        SeedProblem(
            8,
            "SKU 'MUG-BLUE' also on line 2; both seeded "
            "(Shopify allows duplicate SKUs)",
        ),
        SeedProblem(
            9,
            "Variant Inventory Qty '2.5' of SKU 'CARD' is not a whole number; "
            "variant not seeded",
        ),
    ]
    assert shop.dirty is False


def test_inventory_export_seeds_levels_per_location() -> None:
    shop, problems = ShopifyEmulator.from_export(
        "us", FIXTURES / "inventory_export.csv"
    )

    assert stock(shop) == [
        ("00123", True, {"Main warehouse": 5}, "DENY"),
        ("TEE-L", True, {"Main warehouse": -2, "Shop floor": 7}, "DENY"),
        ("TEE-L", True, {"Main warehouse": 1}, "DENY"),
    ]
    assert [str(problem) for problem in problems] == [
        "line 4: SKU is empty; row not seeded",
        "line 7: SKU 'TEE-L' also on line 5; both seeded "
        "(Shopify allows duplicate SKUs)",
        "line 8: Available 'lots' of SKU 'CARD' is not a whole number; row not seeded",
    ]


def test_unknown_header_is_refused_naming_the_file(tmp_path: Path) -> None:
    export = tmp_path / "catalog.csv"
    export.write_text("sku,qty\nA,1\n", encoding="utf-8")

    with pytest.raises(ChannelConfigError) as raised:
        ShopifyEmulator.from_export("us", export)

    assert str(raised.value) == (
        f"{export}:1: not a Shopify product or inventory export: the header has "
        "neither 'Variant SKU' nor 'SKU', 'Location' and 'Available'"
    )


def test_missing_export_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ChannelConfigError, match="cannot read the Shopify export"):
        ShopifyEmulator.from_export("us", tmp_path / "absent.csv")


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    shop, _ = ShopifyEmulator.from_export("us", FIXTURES / "inventory_export.csv")
    shop.set_quantity("00123", 9)

    path = shop.save(tmp_path / "us")
    loaded = ShopifyEmulator.load("us", tmp_path / "us")

    assert path == tmp_path / "us" / "shopify.json"
    assert sorted(p.name for p in (tmp_path / "us").iterdir()) == ["shopify.json"]
    assert stock(loaded) == stock(shop)
    assert loaded.quantity("00123") == 9
    assert loaded.add_variant("NEW").id > max(v.id for v in shop.variants.values())


def test_load_of_a_damaged_file_names_it(tmp_path: Path) -> None:
    (tmp_path / "shopify.json").write_text("{not json", encoding="utf-8")

    with pytest.raises(ChannelConfigError, match=r"shopify\.json: cannot load"):
        ShopifyEmulator.load("us", tmp_path)


def test_on_change_fires_for_each_mutation() -> None:
    shop = ShopifyEmulator("us")
    seen: list[int | None] = []
    shop.on_change = lambda s: seen.append(s.quantity("A") if s.variants else None)

    shop.add_variant("A", quantity=3)
    shop.set_quantity("A", 4)

    assert seen == [3, 4]
    assert shop.dirty is True

"""Loading a valid repository into the whole typed model, marks included."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconciler.config import load_repository
from reconciler.config.model import (
    Direction,
    Guard,
    InventoryFeed,
    MagentoChannel,
    Mark,
    Mode,
    NegativeStock,
    Product,
    Repository,
    Setting,
    Settings,
    ShopifyChannel,
    StoreConfig,
    SyncOverride,
    VendorConfig,
)
from reconciler.config.yamlload import MAX_ALIASES, parse_yaml
from reconciler.errors import ConfigInvalid, ConfigProblem

SHOPIFY = """\
store: shopify-us
channel:
  type: shopify
  endpoint: sandbox://shopify-us
  location: Main warehouse
  seed: exports/shopify.csv
inventory:
  direction: hub_to_channel
  interval: 5m
guard:
  max_zeroed: 10%
"""

MAGENTO = """\
store: magento-eu
channel:
  type: magento
  base_url: https://shop.example.eu/
  source: eu-main
  token: ${MAGENTO_EU_TOKEN}
inventory:
  direction: channel_to_hub
  manage_inventory: true
  negative_stock: push_as_is
suspended: true
"""

ACME = """\
vendor: acme
inventory_feed:
  source: feeds/acme.csv
  columns: {sku: Item, quantity: Available}
  sync:
    mode: manual
    stores:
      magento-eu: {direction: none}
products:
  "0042":
    manage_inventory: false
    stores:
      shopify-us: {interval: 90}
  ACME-002:
"""

SETTINGS = """\
state: sqlite:///.reconciler/test.db
defaults:
  mode: manual
  interval: 1h
guard:
  max_changed: 0.25
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def repository_root(tmp_path: Path) -> Path:
    return _write(
        tmp_path,
        {
            "reconciler.yaml": SETTINGS,
            "stores/shopify-us.yaml": SHOPIFY,
            "stores/magento-eu.yaml": MAGENTO,
            "vendors/acme.yaml": ACME,
            "exports/shopify.csv": "Handle,SKU\n",
        },
    )


def _at(path: str, line: int, column: int) -> Mark:
    return Mark(path, line, column)


def test_a_valid_repository_loads_into_the_whole_model(repository_root: Path) -> None:
    repository = load_repository(repository_root)

    settings_guard = Guard(max_zeroed=0.05, max_changed=0.25)
    shop, mage, acme = (
        "stores/shopify-us.yaml",
        "stores/magento-eu.yaml",
        "vendors/acme.yaml",
    )
    assert repository == Repository(
        root=str(repository_root),
        settings=Settings(
            state_url="sqlite:///.reconciler/test.db",
            default_direction=Direction.NONE,
            default_mode=Mode.MANUAL,
            default_interval=3600,
            guard=settings_guard,
            mark=_at("reconciler.yaml", 1, 1),
        ),
        stores={
            "magento-eu": StoreConfig(
                name="magento-eu",
                mark=_at(mage, 1, 8),
                channel=MagentoChannel(
                    endpoint="https://shop.example.eu",
                    store_code="all",
                    source="eu-main",
                    token_env="MAGENTO_EU_TOKEN",
                ),
                defaults=SyncOverride(
                    direction=Setting(Direction.CHANNEL_TO_HUB, _at(mage, 8, 14)),
                    mode=Setting(Mode.MANUAL, _at("reconciler.yaml", 3, 9)),
                    interval=Setting(3600, _at("reconciler.yaml", 4, 13)),
                    manage_inventory=Setting(True, _at(mage, 9, 21)),
                ),
                guard=settings_guard,
                suspended=True,
                negative_stock=NegativeStock.PUSH_AS_IS,
            ),
            "shopify-us": StoreConfig(
                name="shopify-us",
                mark=_at(shop, 1, 8),
                channel=ShopifyChannel(
                    endpoint="sandbox://shopify-us",
                    api_version="2025-01",
                    location="Main warehouse",
                    token_env=None,
                    seed="exports/shopify.csv",
                ),
                defaults=SyncOverride(
                    direction=Setting(Direction.HUB_TO_CHANNEL, _at(shop, 8, 14)),
                    mode=Setting(Mode.MANUAL, _at("reconciler.yaml", 3, 9)),
                    interval=Setting(300, _at(shop, 9, 13)),
                ),
                guard=Guard(max_zeroed=0.10, max_changed=0.25),
            ),
        },
        vendors={
            "acme": VendorConfig(
                name="acme",
                mark=_at(acme, 1, 9),
                feed=InventoryFeed("feeds/acme.csv", "Item", "Available"),
                override=SyncOverride(mode=Setting(Mode.MANUAL, _at(acme, 6, 11))),
                stores={
                    "magento-eu": SyncOverride(
                        direction=Setting(Direction.NONE, _at(acme, 8, 31))
                    )
                },
                products={
                    "0042": Product(
                        sku="0042",
                        mark=_at(acme, 10, 3),
                        override=SyncOverride(
                            manage_inventory=Setting(False, _at(acme, 11, 23))
                        ),
                        stores={
                            "shopify-us": SyncOverride(
                                interval=Setting(90, _at(acme, 13, 30))
                            )
                        },
                    ),
                    "ACME-002": Product(sku="ACME-002", mark=_at(acme, 14, 3)),
                },
            )
        },
        vendor_of={"0042": "acme", "ACME-002": "acme"},
    )


def test_without_reconciler_yaml_unset_defaults_stay_none(tmp_path: Path) -> None:
    files = {"stores/shopify-us.yaml": SHOPIFY, "exports/shopify.csv": "SKU\n"}
    root = _write(tmp_path, files)

    store = load_repository(root).stores["shopify-us"]

    assert (store.defaults.mode, store.defaults.manage_inventory) == (None, None)
    assert store.guard == Guard(max_zeroed=0.10, max_changed=0.50)


def test_guard_limits_and_suspended_keep_where_they_are_written(
    tmp_path: Path,
) -> None:
    files = {
        "reconciler.yaml": "guard:\n  max_changed: 40%\n",
        "stores/shopify-us.yaml": SHOPIFY,
        "stores/magento-eu.yaml": MAGENTO,
        "exports/shopify.csv": "SKU\n",
    }
    root = _write(tmp_path, files)

    stores = load_repository(root).stores
    us, eu = stores["shopify-us"], stores["magento-eu"]

    assert (us.guard.max_zeroed, us.guard.max_changed) == (0.10, 0.40)
    assert us.guard.zeroed_mark == _at("stores/shopify-us.yaml", 11, 15)
    assert us.guard.changed_mark == _at("reconciler.yaml", 2, 16)
    assert eu.guard.zeroed_mark is None
    assert eu.guard.changed_mark == _at("reconciler.yaml", 2, 16)
    assert (eu.suspended, eu.suspended_mark) == (
        True,
        _at("stores/magento-eu.yaml", 11, 12),
    )
    assert us.suspended_mark is None


def test_problems_of_all_files_come_sorted_in_one_error(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "vendors/acme.yaml": "vendor: acme\nproducts:\n  A-1: {mode: later}\n",
            "stores/b.yaml": SHOPIFY.replace("store: shopify-us", "store: b").replace(
                "5m", "5 min"
            ),
            "stores/a.yaml": "store: a\n",
        },
    )

    with pytest.raises(ConfigInvalid) as refused:
        load_repository(root)

    assert [str(problem) for problem in refused.value.problems] == [
        "stores/a.yaml:1:1: the file: missing required key `channel`",
        "stores/b.yaml:9:13: inventory.interval: `5 min` is not valid; write an "
        "interval as 30s, 5m, 1h or a whole number of seconds",
        "vendors/acme.yaml:3:15: products.A-1.mode: `later` is not allowed; "
        "write one of automatic, manual",
    ]


def test_a_missing_folder_is_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid) as refused:
        load_repository(tmp_path / "absent")

    assert refused.value.problems == (
        ConfigProblem(
            str(tmp_path / "absent"), 0, 0, "config folder not found; pass --config"
        ),
    )


def test_a_literal_token_is_never_echoed(tmp_path: Path) -> None:
    secret = "shpat_do_not_print_me"
    store = SHOPIFY.replace("  seed: exports/shopify.csv\n", f"  token: {secret}\n")
    root = _write(tmp_path, {"stores/shopify-us.yaml": store})

    with pytest.raises(ConfigInvalid) as refused:
        load_repository(root)

    assert secret not in " ".join(str(p) for p in refused.value.problems)


def _billion_laughs(levels: int) -> bytes:
    lines = ["lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"lol{level}: &a{level} [{aliases}]")
    return ("\n".join(lines) + "\n").encode()


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    started = time.perf_counter()

    parsed = parse_yaml(_billion_laughs(12), "vendors/bomb.yaml")

    assert parsed.root is None
    assert [p.message for p in parsed.problems] == [
        f"more than {MAX_ALIASES} aliases of mappings or sequences; an alias bomb, "
        "or a file that should write its values out"
    ]
    assert time.perf_counter() - started < 1.0


def test_a_few_aliases_are_read_as_copies() -> None:
    text = b"base: &base {mode: manual}\none: *base\ntwo: *base\n"

    parsed = parse_yaml(text, "x.yaml")

    assert parsed.problems == []
    assert parsed.root == {
        "base": {"mode": "manual"},
        "one": {"mode": "manual"},
        "two": {"mode": "manual"},
    }


def test_symbolic_link_loops_and_dangling_links_are_named(tmp_path: Path) -> None:
    root = tmp_path / "config"
    (root / "stores").mkdir(parents=True)
    (root / "stores/loop.yaml").symlink_to("loop.yaml")
    (root / "stores/gone.yaml").symlink_to("elsewhere.yaml")
    (root / "reconciler.yaml").symlink_to("reconciler.yaml")
    (root / "vendors").symlink_to("vendors")

    with pytest.raises(ConfigInvalid) as refused:
        load_repository(root)

    assert refused.value.problems == (
        ConfigProblem("reconciler.yaml", 0, 0, "cannot be read: symbolic link loop"),
        ConfigProblem(
            "stores/gone.yaml",
            0,
            0,
            "cannot be read: symbolic link to `elsewhere.yaml`, which is missing",
        ),
        ConfigProblem("stores/loop.yaml", 0, 0, "cannot be read: symbolic link loop"),
        ConfigProblem("vendors", 0, 0, "cannot be read: symbolic link loop"),
    )


def test_yaml_files_under_names_not_read_are_refused_not_skipped(
    tmp_path: Path,
) -> None:
    root = _write(
        tmp_path,
        {
            "Reconciler.yaml": SETTINGS,
            "stores/shopify-us.yaml": SHOPIFY,
            "stores/shopify-us.yml": SHOPIFY,
            "stores/magento-eu.yaml": MAGENTO,
            "vendors/acme.yaml": ACME,
            "vendors/eu/acme.yaml": ACME,
            "exports/shopify.csv": "Handle,SKU\n",
        },
    )

    with pytest.raises(ConfigInvalid) as refused:
        load_repository(root)

    assert [str(problem) for problem in refused.value.problems] == [
        "Reconciler.yaml: file names are case-sensitive and only reconciler.yaml "
        "is read; rename it to reconciler.yaml",
        "stores/shopify-us.yml: only .yaml files are read, and shopify-us.yaml "
        "exists already; merge the two files",
        "vendors/eu/acme.yaml: subfolders are not read, and vendors/acme.yaml "
        "exists already; merge the two files",
    ]


def test_a_folder_like_stores_or_vendors_without_yaml_is_left_alone(
    repository_root: Path,
) -> None:
    _write(
        repository_root,
        {
            "store/README.md": "notes\n",
            "Vendors/exports/acme.csv": "Item\n",
            "mkdocs.yml": "site_name: inventory\n",
        },
    )

    repository = load_repository(repository_root)

    assert sorted(repository.stores) == ["magento-eu", "shopify-us"]


def test_hidden_files_and_folders_stay_ignored(repository_root: Path) -> None:
    """And the folders inside a linked subfolder are not looked into."""
    _write(
        repository_root,
        {
            ".reconciler.yml": SETTINGS,
            "stores/.shopify-us.yml": SHOPIFY,
            "vendors/.archive/old.yaml": "vendor: old\n",
            "vendors/feeds/.cache.yml": "",
            "vendors/feeds/acme.csv": "Item,Available\n",
            "shared/deeper/tees.yaml": "vendor: tees\n",
        },
    )
    (repository_root / "vendors/linked").symlink_to("../shared")

    repository = load_repository(repository_root)

    assert (sorted(repository.stores), sorted(repository.vendors)) == (
        ["magento-eu", "shopify-us"],
        ["acme"],
    )

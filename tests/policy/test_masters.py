"""Two stores master (channel_to_hub) of one SKU: found once, at its cause."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.model import Direction, Mode
from reconciler.errors import ConfigInvalid, ConfigProblem
from reconciler.policy import load_policy, master_conflicts

from .builders import COLUMN, override, product, repository, store, vendor

PULL = Direction.CHANNEL_TO_HUB
PUSH = Direction.HUB_TO_CHANNEL
ACME = "vendors/acme.yaml"
TAIL = "leave at most one store channel_to_hub"


def test_one_master_per_sku_is_no_problem() -> None:
    repo = repository(
        [store("eu", PULL, magento=True), store("us", PUSH)],
        [vendor("acme", override(ACME, 5, mode=Mode.MANUAL))],
    )

    assert master_conflicts(repo) == []


def test_store_defaults_alone_are_reported_once_for_skus_of_no_vendor() -> None:
    acme = vendor(
        "acme",
        override(ACME, 5, mode=Mode.MANUAL),
        products=[product("MH01-XS-Black", 20, override(ACME, 21, interval=60))],
    )
    repo = repository([store("eu", PULL, magento=True), store("us", PULL)], [acme])

    problems = master_conflicts(repo)

    assert problems == [
        ConfigProblem(
            "stores/eu.yaml",
            10,
            COLUMN,
            "two masters for SKUs of no listed vendor and of vendor acme (it "
            "sets no direction of its own): stores eu and us each "
            "resolve direction channel_to_hub (eu by stores/eu.yaml:10 (store), "
            f"us by stores/us.yaml:10 (store)); {TAIL}",
        )
    ]


def test_the_store_defaults_conflict_names_every_vendor_inheriting_it() -> None:
    vendors = [
        vendor("tees", override("vendors/tees.yaml", 5, mode=Mode.MANUAL)),
        vendor("bags", stores={"us": override("vendors/bags.yaml", 7, direction=PUSH)}),
        vendor("hoodies"),
    ]
    repo = repository([store("eu", PULL, magento=True), store("us", PULL)], vendors)

    problems = master_conflicts(repo)

    assert [str(problem) for problem in problems] == [
        "stores/eu.yaml:10:5: two masters for SKUs of no listed vendor and of "
        "vendors hoodies, tees (they set no direction of their own): stores eu "
        "and us each resolve direction channel_to_hub (eu by stores/eu.yaml:10 "
        f"(store), us by stores/us.yaml:10 (store)); {TAIL}"
    ]


def test_a_vendor_override_for_one_store_is_reported_at_its_line() -> None:
    acme = vendor("acme", stores={"us": override(ACME, 12, direction=PULL)})
    repo = repository([store("eu", PULL, magento=True), store("us", PUSH)], [acme])

    problems = master_conflicts(repo)

    assert problems == [
        ConfigProblem(
            ACME,
            12,
            COLUMN,
            "two masters for the SKUs of vendor acme that set no direction "
            "themselves: stores eu and us each resolve direction channel_to_hub "
            "(eu by stores/eu.yaml:10 (store), us by vendors/acme.yaml:12 "
            f"(vendor+store)); {TAIL}",
        )
    ]


def test_a_vendor_override_for_all_stores_names_every_store() -> None:
    acme = vendor("acme", override(ACME, 5, direction=PULL))
    stores = [store("eu", magento=True), store("uk"), store("us")]

    problems = master_conflicts(repository(stores, [acme]))

    assert [str(problem) for problem in problems] == [
        "vendors/acme.yaml:5:5: two masters for the SKUs of vendor acme that "
        "set no direction themselves: stores eu, uk and us each resolve direction "
        "channel_to_hub (eu by vendors/acme.yaml:5 (vendor), uk by "
        "vendors/acme.yaml:5 (vendor), us by vendors/acme.yaml:5 (vendor)); "
        f"{TAIL}"
    ]


def test_a_product_override_is_reported_at_the_product_line() -> None:
    acme = vendor(
        "acme",
        products=[
            product(
                "MH01-XS-Black", 20, stores={"us": override(ACME, 22, direction=PULL)}
            ),
            product("MH01-XS-Gray", 30, override(ACME, 31, mode=Mode.MANUAL)),
        ],
    )
    repo = repository([store("eu", PULL, magento=True), store("us", PUSH)], [acme])

    problems = master_conflicts(repo)

    assert problems == [
        ConfigProblem(
            ACME,
            22,
            COLUMN,
            "two masters for SKU MH01-XS-Black: stores eu and us each resolve "
            "direction channel_to_hub (eu by stores/eu.yaml:10 (store), us by "
            f"vendors/acme.yaml:22 (product+store)); {TAIL}",
        )
    ]


def test_a_product_adding_a_third_master_is_reported_besides_its_vendor() -> None:
    acme = vendor(
        "acme",
        stores={"uk": override(ACME, 12, direction=PULL)},
        products=[product("MH01-XS-Black", 20, override(ACME, 21, direction=PULL))],
    )
    stores = [store("eu", PULL, magento=True), store("uk"), store("us")]

    problems = master_conflicts(repository(stores, [acme]))

    assert [(p.path, p.line, p.message.split(":")[0]) for p in problems] == [
        (
            ACME,
            12,
            "two masters for the SKUs of vendor acme that set no direction themselves",
        ),
        (ACME, 21, "two masters for SKU MH01-XS-Black"),
    ]
    assert "stores eu, uk and us each resolve" in problems[1].message


def test_a_product_that_only_narrows_its_vendors_conflict_is_not_repeated() -> None:
    acme = vendor(
        "acme",
        override(ACME, 5, direction=PULL),
        products=[
            product(
                "MH01-XS-Black", 20, stores={"eu": override(ACME, 22, direction=PUSH)}
            ),
            product("MH01-XS-Gray", 30, override(ACME, 31, mode=Mode.MANUAL)),
        ],
    )
    stores = [store("eu", magento=True), store("uk"), store("us")]

    problems = master_conflicts(repository(stores, [acme]))

    assert [(p.path, p.line) for p in problems] == [(ACME, 5)]


def test_a_product_that_resolves_its_vendors_conflict_is_quiet() -> None:
    acme = vendor(
        "acme",
        stores={"us": override(ACME, 12, direction=PULL)},
        products=[
            product(
                "MH01-XS-Black", 20, stores={"us": override(ACME, 22, direction=PUSH)}
            )
        ],
    )
    repo = repository([store("eu", PULL, magento=True), store("us", PUSH)], [acme])

    problems = master_conflicts(repo)

    assert [(p.path, p.line) for p in problems] == [(ACME, 12)]


# --- store files that failed their own checks ---------------------------------

STORE_FILE = """\
store: {name}
channel:
  type: shopify
  endpoint: sandbox://{name}
{location}inventory:
  direction: {direction}
"""


def write_store(root: Path, name: str, direction: str, *, location: bool) -> None:
    (root / "stores").mkdir(parents=True, exist_ok=True)
    text = STORE_FILE.format(
        name=name, direction=direction, location="  location: Main\n" * location
    )
    (root / "stores" / f"{name}.yaml").write_text(text)


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ConfigInvalid) as refused:
        load_policy(root)
    return [str(problem) for problem in refused.value.problems]


def test_a_broken_store_file_with_a_valid_direction_still_counts_as_master(
    tmp_path: Path,
) -> None:
    write_store(tmp_path, "eu", "channel_to_hub", location=True)
    write_store(tmp_path, "us", "channel_to_hub", location=False)

    problems = problems_of(tmp_path)

    assert problems == [
        "stores/eu.yaml:7:14: two masters for SKUs of no listed vendor: stores eu "
        "and us each resolve direction channel_to_hub (eu by stores/eu.yaml:7 "
        f"(store), us by stores/us.yaml:6 (store)); {TAIL}",
        "stores/us.yaml:3:3: channel: missing required key `location`",
    ]


def test_a_broken_store_file_whose_direction_is_the_problem_makes_no_master(
    tmp_path: Path,
) -> None:
    write_store(tmp_path, "eu", "channel_to_hub", location=True)
    write_store(tmp_path, "us", "channel_to_hubb", location=False)
    write_store(tmp_path, "uk", "hub_to_channel", location=False)

    problems = problems_of(tmp_path)

    assert [problem.split(": ")[0] for problem in problems] == [
        "stores/uk.yaml:3:3",
        "stores/us.yaml:3:3",
        "stores/us.yaml:6:14",
    ]
    assert not any("two masters" in problem for problem in problems)


def eu_master_and_acme(root: Path, acme: str) -> None:
    """eu is master, us takes the hub's values; vendors/acme.yaml is ``acme``."""
    write_store(root, "eu", "channel_to_hub", location=True)
    write_store(root, "us", "hub_to_channel", location=True)
    (root / "vendors").mkdir(parents=True, exist_ok=True)
    (root / "vendors" / "acme.yaml").write_text(acme)


def test_a_broken_vendor_file_s_valid_directions_still_make_masters(
    tmp_path: Path,
) -> None:
    eu_master_and_acme(
        tmp_path,
        "vendor: acme\n"
        "inventory_feed:\n"
        "  sync:\n"
        "    mode: automatik\n"
        "products:\n"
        "  A-1:\n"
        "    stores:\n"
        "      us: {direction: channel_to_hub}\n",
    )

    problems = problems_of(tmp_path)

    assert [problem.split(": ")[0] for problem in problems] == [
        "vendors/acme.yaml:4:11",
        "vendors/acme.yaml:8:23",
    ]
    assert problems[1].startswith(
        "vendors/acme.yaml:8:23: two masters for SKU A-1: stores eu and us"
    )


def test_a_broken_vendor_file_makes_no_master_of_an_invalid_direction(
    tmp_path: Path,
) -> None:
    eu_master_and_acme(
        tmp_path,
        "vendor: acme\nproducts:\n  A-1:\n    stores:\n"
        "      us: {direction: channel_to_hubb}\n",
    )

    problems = problems_of(tmp_path)

    assert [problem.split(": ")[0] for problem in problems] == [
        "vendors/acme.yaml:5:23"
    ]
    assert "channel_to_hubb" in problems[0]

"""``reconcile explain`` resolves an unlisted SKU's vendor as a pass does:
from the hub record, read from ``--state`` without creating it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from tests.cli import Repo, make_repo

BATCH = "sku,quantity_available,vendor\nTEE-S,8,tees\nHOOD-1,3,hoodies\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(tmp_path)
    return make_repo(tmp_path, {**dict.fromkeys(["TEE-S", "MUG-1"], (10, 1))})


def explain(repo: Repo, *args: str) -> Result:
    return CliRunner().invoke(main, ["explain", *args, *repo.args()])


def imported(repo: Repo) -> Repo:
    """vendors/hoodies.yaml lists no product: HOOD-1's vendor is its hub record's."""
    repo.write("config/vendors/hoodies.yaml", "vendor: hoodies\n")
    path = repo.write("batch.csv", BATCH)
    done = CliRunner().invoke(
        main,
        [
            "import",
            str(path),
            "--yes",
            "--allow-mass-change",
            "shopify-us",
            "--allow-mass-change",
            "magento-eu",
            *repo.args(),
        ],
    )
    assert done.exit_code == 0, done.stderr
    return repo


def test_without_a_hub_it_says_so_and_creates_none(repo: Repo) -> None:
    result = explain(repo, "TEE-S", "--store", "magento-eu")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "SKU TEE-S",
        "vendor: none (not listed; no hub yet; pass --vendor)",
    ]
    assert not repo.state_dir.exists()


@pytest.mark.parametrize(
    ("sku", "options", "vendor_line", "direction"),
    [
        pytest.param(
            "TEE-S",
            [],
            "vendor: tees (from the hub record)",
            "hub_to_channel  vendors/tees.yaml:5 (vendor+store)",
            id="hub-vendor-with-file",
        ),
        pytest.param(
            "HOOD-1",
            [],
            "vendor: hoodies (from the hub record)",
            "channel_to_hub  stores/magento-eu.yaml:8 (store)",
            id="hub-vendor-of-a-file-without-settings",
        ),
        pytest.param(
            "TEE-S",
            ["--vendor", "globex"],
            "vendor: globex (from --vendor; no vendors/globex.yaml, "
            "so store settings apply)",
            "channel_to_hub  stores/magento-eu.yaml:8 (store)",
            id="option-wins-over-hub",
        ),
        pytest.param(
            "MUG-1",
            [],
            "vendor: none (not listed; not in the hub; pass --vendor)",
            "channel_to_hub  stores/magento-eu.yaml:8 (store)",
            id="not-in-hub",
        ),
    ],
)
def test_the_vendor_comes_from_the_hub_record(
    repo: Repo, sku: str, options: list[str], vendor_line: str, direction: str
) -> None:
    imported(repo)
    before = repo.fingerprint()

    result = explain(repo, sku, "--store", "magento-eu", *options)

    lines = result.stdout.splitlines()
    assert result.exit_code == 0, result.stderr
    assert (lines[1], " ".join(lines[5].split()[1:])) == (
        vendor_line,
        " ".join(direction.split()),
    )
    assert lines[2].startswith("hub: ")
    assert repo.fingerprint() == before


@pytest.mark.parametrize(
    ("sku", "hub"),
    [
        pytest.param(
            "TEE-S",
            "hub: manage_inventory true, quantity_available 8, vendor tees (changed ",
            id="in-the-hub",
        ),
        pytest.param("MUG-1", "hub: no record of this SKU", id="not-in-the-hub"),
    ],
)
def test_the_hub_record_is_shown(repo: Repo, sku: str, hub: str) -> None:
    imported(repo)

    text = explain(repo, sku, "--store", "magento-eu")
    data = json.loads(explain(repo, sku, "--format", "json").stdout)

    assert text.stdout.splitlines()[2].startswith(hub)
    if sku == "TEE-S":
        assert text.stdout.splitlines()[2].endswith(", from import:batch.csv)")
        assert {k: data["hub"][k] for k in ("quantity_available", "vendor")} == {
            "quantity_available": 8,
            "vendor": "tees",
        }
    else:
        assert data["hub"] is None


def test_a_listing_that_disagrees_with_the_hub_record_is_said(repo: Repo) -> None:
    imported(repo)
    repo.write(
        "config/vendors/hoodies.yaml", 'vendor: hoodies\nproducts:\n  "TEE-S": {}\n'
    )

    result = explain(repo, "TEE-S", "--store", "magento-eu")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        "vendor: hoodies (listed in vendors/hoodies.yaml:3; its hub record says "
        "vendor tees: the listing wins)"
    )

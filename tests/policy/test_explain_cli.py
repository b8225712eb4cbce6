"""``reconcile explain`` through click's runner, on small config repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main

STORE_EU = """\
store: eu
channel:
  type: magento
  endpoint: sandbox://eu
inventory:
  direction: channel_to_hub
  interval: 5m
"""
STORE_US = """\
store: us
channel:
  type: shopify
  endpoint: sandbox://us
  location: Main warehouse
inventory:
  direction: hub_to_channel
  mode: automatic
"""
VENDOR_ACME = """\
vendor: acme
inventory_feed:
  sync:
    mode: manual
    stores:
      eu: {interval: 10m}
products:
  "MH01-XS-Black":
    manage_inventory: false
    stores:
      us: {direction: none}
"""


def write_repo(root: Path, files: dict[str, str]) -> str:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return str(root)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # the default state file: absent, so no hub
    return write_repo(
        tmp_path,
        {
            "stores/eu.yaml": STORE_EU,
            "stores/us.yaml": STORE_US,
            "vendors/acme.yaml": VENDOR_ACME,
        },
    )


def explain(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["explain", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_setting_from_reconciler_yaml_defaults_is_named_so(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path,
        {
            "reconciler.yaml": "defaults:\n  mode: manual\n",
            "stores/us.yaml": STORE_US.replace("  mode: automatic\n", ""),
        },
    )

    code, out, err = explain("ANY-1", "--config", root, "--vendor", "none")

    assert (code, err) == (0, "")
    assert "  mode              manual          reconciler.yaml:2 (defaults)" in (
        out.splitlines()
    )


def test_text_names_value_file_line_and_level_per_store(repo: str) -> None:
    code, out, err = explain("MH01-XS-Black", "--config", repo)

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "SKU MH01-XS-Black",
        "vendor: acme (listed in vendors/acme.yaml:8)",
        "hub: no record of this SKU",
        "",
        "store eu",
        "  direction         channel_to_hub  stores/eu.yaml:6 (store)",
        "  mode              manual          vendors/acme.yaml:4 (vendor)",
        "  interval          10m             vendors/acme.yaml:6 (vendor+store)",
        "  manage_inventory  false           vendors/acme.yaml:9 (product)",
        "",
        "store us",
        "  direction         none            vendors/acme.yaml:11 (product+store)",
        "  mode              manual          vendors/acme.yaml:4 (vendor)",
        "  interval          5m              built-in",
        "  manage_inventory  false           vendors/acme.yaml:9 (product)",
    ]


def test_json_gives_the_same_answer_as_data(repo: str) -> None:
    code, out, _ = explain(
        "MH01-XS-Black", "--config", repo, "--store", "us", "--format", "json"
    )

    assert code == 0
    assert json.loads(out) == {
        "sku": "MH01-XS-Black",
        "hub": None,
        "vendor": {
            "name": "acme",
            "source": "listed",
            "detail": "listed in vendors/acme.yaml:8",
        },
        "stores": [
            {
                "store": "us",
                "direction": {
                    "value": "none",
                    "level": "product+store",
                    "path": "vendors/acme.yaml",
                    "line": 11,
                },
                "mode": {
                    "value": "manual",
                    "level": "vendor",
                    "path": "vendors/acme.yaml",
                    "line": 4,
                },
                "interval": {
                    "value": 300,
                    "level": "built-in",
                    "path": None,
                    "line": None,
                },
                "manage_inventory": {
                    "value": False,
                    "level": "product",
                    "path": "vendors/acme.yaml",
                    "line": 9,
                },
            }
        ],
    }


@pytest.mark.parametrize(
    ("options", "vendor_line", "mode_line"),
    [
        pytest.param(
            [],
            "vendor: none (not listed; no hub yet; pass --vendor)",
            "  mode              automatic       built-in",
            id="no-vendor",
        ),
        pytest.param(
            ["--vendor", "acme"],
            "vendor: acme (from --vendor)",
            "  mode              manual          vendors/acme.yaml:4 (vendor)",
            id="vendor-option",
        ),
        pytest.param(
            ["--vendor", "globex"],
            "vendor: globex (from --vendor; no vendors/globex.yaml, "
            "so store settings apply)",
            "  mode              automatic       built-in",
            id="vendor-without-file",
        ),
    ],
)
def test_an_unlisted_sku_takes_its_vendor_from_the_option(
    repo: str, options: list[str], vendor_line: str, mode_line: str
) -> None:
    code, out, _ = explain("MS01-XS-Black", "--config", repo, "--store", "eu", *options)

    lines = out.splitlines()
    assert (code, lines[1], lines[6]) == (0, vendor_line, mode_line)


def test_a_listed_sku_ignores_another_vendor_option(repo: str) -> None:
    _, out, _ = explain("MH01-XS-Black", "--config", repo, "--vendor", "globex")

    assert out.splitlines()[1] == (
        "vendor: acme (listed in vendors/acme.yaml:8; --vendor globex ignored)"
    )


def test_manage_inventory_no_level_sets_comes_from_the_hub(repo: str) -> None:
    _, out, _ = explain("MS01-XS-Black", "--config", repo, "--store", "us")

    assert (
        out.splitlines()[-1] == "  manage_inventory  from hub        no level sets it"
    )


def test_an_unknown_store_is_an_error(repo: str) -> None:
    code, out, err = explain("MH01-XS-Black", "--config", repo, "--store", "uk")

    assert (code, out, err) == (1, "", "unknown store uk; the config has: eu, us\n")


def test_two_masters_print_problems_on_stderr_and_exit_1(tmp_path: Path) -> None:
    vendor = VENDOR_ACME.replace(
        "eu: {interval: 10m}", "us: {direction: channel_to_hub}"
    )
    root = write_repo(
        tmp_path,
        {
            "stores/eu.yaml": STORE_EU,
            "stores/us.yaml": STORE_US,
            "vendors/acme.yaml": vendor,
        },
    )

    code, out, err = explain("MH01-XS-Black", "--config", root)

    assert (code, out) == (1, "")
    assert err == (
        "vendors/acme.yaml:6:23: two masters for the SKUs of vendor acme that set "
        "no direction themselves: stores eu and us each resolve direction "
        "channel_to_hub "
        "(eu by stores/eu.yaml:6 (store), us by vendors/acme.yaml:6 (vendor+store)); "
        "leave at most one store channel_to_hub\n"
    )


def test_a_file_the_loader_refuses_prints_path_line_col(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path,
        {
            "stores/eu.yaml": STORE_EU.replace("channel_to_hub", "no"),
            "stores/us.yaml": STORE_US,
        },
    )

    code, out, err = explain("MH01-XS-Black", "--config", root)

    assert (code, out) == (1, "")
    assert err.startswith("stores/eu.yaml:6:14: ")
    assert "direction" in err

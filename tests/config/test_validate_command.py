"""``reconcile validate`` through click's runner: text and JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main

CASES = Path(__file__).parent / "cases"

STORE = """\
store: shop
channel:
  type: shopify
  endpoint: sandbox://shop
  location: Main
"""


def _valid_root(tmp_path: Path) -> Path:
    (tmp_path / "stores").mkdir()
    (tmp_path / "vendors").mkdir()
    (tmp_path / "stores/shop.yaml").write_text(STORE, encoding="utf-8")
    vendor = "vendor: acme\nproducts:\n  A-1: {}\n  A-2: {mode: manual}\n"
    (tmp_path / "vendors/acme.yaml").write_text(vendor, encoding="utf-8")
    return tmp_path


def test_a_valid_repository_exits_zero_with_a_summary(tmp_path: Path) -> None:
    root = _valid_root(tmp_path)
    before = sorted(root.rglob("*"))

    result = CliRunner().invoke(main, ["validate", "--config", str(root)])

    assert (result.exit_code, result.stdout) == (
        0,
        f"{root}: valid; 1 store, 1 vendor, 2 products\n",
    )
    assert sorted(root.rglob("*")) == before


def test_problems_go_to_stderr_one_per_line_in_text() -> None:
    root = CASES / "many-files-many-problems"

    result = CliRunner().invoke(main, ["validate", "--config", str(root)])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert [line.split(": ", 1)[0] for line in result.stderr.splitlines()] == [
        "reconciler.yaml:2:15",
        "stores/shop.yaml:7:9",
        "vendors/acme.yaml:3:9",
    ]


def test_problems_are_a_json_list_on_stdout() -> None:
    root = CASES / "bad-direction-enum"

    result = CliRunner().invoke(
        main, ["validate", "--config", str(root), "--format", "json"]
    )

    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "path": "stores/shop.yaml",
            "line": 7,
            "column": 14,
            "message": "inventory.direction: `sideways` is not allowed; write one "
            "of hub_to_channel, channel_to_hub, none",
        }
    ]


def test_the_two_masters_check_is_part_of_validate() -> None:
    root = CASES / "two-masters"

    result = CliRunner().invoke(main, ["validate", "--config", str(root)])

    assert result.exit_code == 1
    assert result.stderr.startswith("stores/mage.yaml:6:14: two masters")


def test_a_missing_config_folder_exits_one(tmp_path: Path) -> None:
    absent = tmp_path / "nowhere"

    result = CliRunner().invoke(
        main, ["validate", "--config", str(absent), "--format", "json"]
    )

    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "path": str(absent),
            "line": 0,
            "column": 0,
            "message": "config folder not found; pass --config DIR",
        }
    ]


SERVED = """\
store: {name}
channel:
  type: shopify
  endpoint: {endpoint}
  location: Main
  token: ${{{variable}}}
"""


def _root_with_tokens(tmp_path: Path) -> Path:
    root = _valid_root(tmp_path)
    stores = {
        "outlet": ("http://127.0.0.1:9/outlet", "F5_OUTLET_TOKEN"),
        "sandboxed": ("sandbox://sandboxed", "F5_SANDBOX_TOKEN"),
        "set": ("http://127.0.0.1:9/set", "F5_SET_TOKEN"),
    }
    for name, (endpoint, variable) in stores.items():
        text = SERVED.format(name=name, endpoint=endpoint, variable=variable)
        (root / f"stores/{name}.yaml").write_text(text, encoding="utf-8")
    return root


ENV = {"F5_OUTLET_TOKEN": None, "F5_SANDBOX_TOKEN": None, "F5_SET_TOKEN": "x"}


def test_an_unset_token_variable_is_a_warning_on_stderr(tmp_path: Path) -> None:
    root = _root_with_tokens(tmp_path)

    result = CliRunner().invoke(main, ["validate", "--config", str(root)], env=ENV)

    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"{root}: valid; 4 stores, 1 vendor, 2 products\n",
        "stores/outlet.yaml:6:10: warning: F5_OUTLET_TOKEN is not set in this "
        "environment; passes will fail for this store\n",
    )


def test_json_warnings_carry_a_severity_and_exit_zero(tmp_path: Path) -> None:
    root = _root_with_tokens(tmp_path)

    result = CliRunner().invoke(
        main, ["validate", "--config", str(root), "--format", "json"], env=ENV
    )

    assert result.exit_code == 0
    assert result.stderr == f"{root}: valid; 4 stores, 1 vendor, 2 products\n"
    assert json.loads(result.stdout) == [
        {
            "path": "stores/outlet.yaml",
            "line": 6,
            "column": 10,
            "message": "F5_OUTLET_TOKEN is not set in this environment; passes "
            "will fail for this store",
            "severity": "warning",
        }
    ]


def test_a_config_folder_that_is_a_link_loop_says_so(tmp_path: Path) -> None:
    loop = tmp_path / "config"
    loop.symlink_to(loop)

    result = CliRunner().invoke(main, ["validate", "--config", str(loop)])

    assert (result.exit_code, result.stderr) == (
        1,
        f"{loop}: cannot be read: symbolic link loop\n",
    )

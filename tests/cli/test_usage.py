"""Usage mistakes on the command line: refused (or warned about) before any
read or write, with a message that names the option and the known values."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from tests.cli import Repo, make_repo

KNOWN = "(known: magento-eu, shopify-us)"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(tmp_path)
    return make_repo(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--dry-run", "--store", "nosuch"],
            f"reconcile: unknown store 'nosuch' {KNOWN}\n",
            id="store",
        ),
        pytest.param(
            ["--yes", "--store", "shopify-us", "--store", "a", "--store", "b"],
            f"reconcile: unknown stores 'a', 'b' {KNOWN}\n",
            id="stores-on-apply",
        ),
        pytest.param(
            ["--dry-run", "--allow-mass-change", "nosuch"],
            f"reconcile: --allow-mass-change: unknown store 'nosuch' {KNOWN}\n",
            id="allow-mass-change",
        ),
        pytest.param(
            ["--dry-run", "--yes"],
            "reconcile: --dry-run and --yes contradict each other: "
            "a dry run applies nothing\n",
            id="dry-run-and-yes",
        ),
    ],
)
def test_usage_errors_exit_1_and_touch_nothing(
    repo: Repo, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, [*repo.args(), *args])

    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)
    assert not repo.state_dir.exists()


def test_an_unknown_sku_is_a_warning_not_a_failure(repo: Repo) -> None:
    result = CliRunner().invoke(
        main, [*repo.args(), "--dry-run", "--sku", "NOSUCH", "--sku", "TEE-S"]
    )

    assert (result.exit_code, result.stderr) == (
        0,
        "reconcile: warning: SKU 'NOSUCH' is neither in the hub "
        "nor on any selected store\n",
    )
    assert "skipped 1 (unknown_to_hub): TEE-S" in result.stdout


def test_a_sku_on_a_store_only_is_not_warned_about(repo: Repo) -> None:
    result = CliRunner().invoke(main, [*repo.args(), "--dry-run", "--sku", "MUG-1"])

    assert (result.exit_code, result.stderr) == (0, "")


def test_a_named_sku_a_store_does_not_sync_is_said(repo: Repo) -> None:
    repo.write(
        "config/vendors/mugs.yaml",
        "vendor: mugs\nproducts:\n  MUG-1:\n    stores:\n"
        "      shopify-us: {direction: none}\n",
    )

    result = CliRunner().invoke(main, [*repo.args(), "--dry-run", "--sku", "MUG-1"])

    assert (result.exit_code, result.stderr) == (
        0,
        "reconcile: MUG-1 is not synced on shopify-us (direction none, "
        "vendors/mugs.yaml:5 (product+store)); naming it changes nothing there\n",
    )


@pytest.mark.parametrize("sku", ["", "  "], ids=["empty", "blank"])
def test_explain_refuses_an_empty_sku(repo: Repo, sku: str) -> None:
    result = CliRunner().invoke(main, ["explain", sku, *repo.args()])

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        "reconcile explain: the SKU must not be empty\n",
    )

"""``reconcile sandbox sell``: a shopper's sale on an embedded store."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from tests.cli import MAGENTO_HEADER, SHOPIFY_HEADER, Repo, make_repo

BATCH = "sku,quantity_available,vendor\nTEE-S,8,tees\nTEE-M,6,tees\n"
SERVED_STORE = """\
store: magento-served
channel:
  type: magento
  base_url: http://127.0.0.1:9
  token: ${MAGENTO_SERVED_TOKEN}
  store_code: all
inventory:
  direction: hub_to_channel
  mode: automatic
  interval: 5m
"""

SERVED_HINT = (
    " (it is reached at http://127.0.0.1:9: change its stock through the channel's "
    "own API, or, when that is `reconcile sandbox serve`, arm a fault: POST "
    'http://127.0.0.1:9/_control/NAME/faults {"concurrent_sales": {"SKU": UNITS}})'
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """Both stores and the hub hold TEE-S at 8 (an import pushed it)."""
    monkeypatch.chdir(tmp_path)
    repo = make_repo(tmp_path)
    path = repo.write("batch.csv", BATCH)
    imported = CliRunner().invoke(main, ["import", str(path), *repo.args(), "--yes"])
    assert imported.exit_code == 0, imported.stderr
    return repo


def sell(repo: Repo, *args: str) -> Result:
    return CliRunner().invoke(main, ["sandbox", "sell", *args, *repo.args()])


def sell_in_process(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "sell", *args, *repo.args()],
        capture_output=True,
        text=True,
        cwd=repo.root,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("store", "quantity"),
    [
        pytest.param(
            "shopify-us", lambda r: r.shopify().quantity("TEE-S"), id="shopify"
        ),
        pytest.param(
            "magento-eu", lambda r: r.magento().quantity("TEE-S"), id="magento"
        ),
    ],
)
def test_sell_lowers_the_quantity(
    repo: Repo, store: str, quantity: Callable[[Repo], object]
) -> None:
    result = sell(repo, store, "TEE-S", "3")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{store}: sold 3 of TEE-S; quantity 8 -> 5\n"
    assert quantity(repo) == 5


def test_sales_persist_across_processes(repo: Repo) -> None:
    first = sell_in_process(repo, "shopify-us", "TEE-S", "2")
    second = sell_in_process(repo, "shopify-us", "TEE-S", "1")

    assert (first.returncode, first.stdout) == (
        0,
        "shopify-us: sold 2 of TEE-S; quantity 8 -> 6\n",
    ), first.stderr
    assert (second.returncode, second.stdout) == (
        0,
        "shopify-us: sold 1 of TEE-S; quantity 6 -> 5\n",
    ), second.stderr
    assert repo.shopify().quantity("TEE-S") == 5


def test_next_dry_run_shows_the_sale_as_drift(repo: Repo) -> None:
    sold = sell(repo, "shopify-us", "TEE-S", "2")

    plan = CliRunner().invoke(main, [*repo.args(), "--dry-run"])

    assert sold.exit_code == 0, sold.stderr
    assert plan.exit_code == 0, plan.stderr
    lines = [" ".join(line.split()) for line in plan.stdout.splitlines()]
    assert [line for line in lines if "<-" in line] == [
        "shopify-us <- hub TEE-S quantity_available 6 -> 8 [drift]",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("magento-served", "TEE-S", "1"),
            "reconcile sandbox: 'magento-served' is not a sandbox store"
            + SERVED_HINT
            + "; sandbox stores: magento-eu, shopify-us\n",
            id="not-a-sandbox-store",
        ),
        pytest.param(
            ("nowhere", "TEE-S", "1"),
            "reconcile sandbox: 'nowhere' is not a sandbox store; "
            "sandbox stores: magento-eu, shopify-us\n",
            id="unknown-store",
        ),
        pytest.param(
            ("shopify-us", "NO-SUCH", "1"),
            "reconcile sandbox: store shopify-us: no item with SKU 'NO-SUCH'\n",
            id="unknown-sku-shopify",
        ),
        pytest.param(
            ("magento-eu", "NO-SUCH", "1"),
            "reconcile sandbox: store magento-eu: no item with SKU 'NO-SUCH'\n",
            id="unknown-sku-magento",
        ),
    ],
)
def test_bad_sales_are_refused_and_change_nothing(
    repo: Repo, args: tuple[str, ...], message: str
) -> None:
    repo.write("config/stores/magento-served.yaml", SERVED_STORE)
    before = repo.fingerprint()

    result = sell(repo, *args)

    assert result.exit_code == 1
    assert result.stderr == message
    assert repo.fingerprint() == before


ODD_MAGENTO = f"""\
{MAGENTO_HEADER}
MH01,configurable,0,1,1,0
MH01-XS-Black,simple,4,1,1,0
LOOSE,simple,5,1,0,0
"""
ODD_SHOPIFY = f"""\
{SHOPIFY_HEADER}
tee,Tee,Size,S,TEE-DENY,shopify,2,deny
tee,Tee,Size,M,TEE-CONTINUE,shopify,2,continue
tee,Tee,Size,L,TEE-UNTRACKED,,2,deny
"""


@pytest.fixture
def odd_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """Items a shopper cannot buy from stock, or can buy beyond it."""
    monkeypatch.chdir(tmp_path)
    repo = make_repo(tmp_path)
    repo.write("config/magento-eu.csv", ODD_MAGENTO)
    repo.write("config/shopify-us.csv", ODD_SHOPIFY)
    return repo


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("magento-eu", "MH01-XS-Black", "1000"),
            "store magento-eu: cannot sell 1000 of 'MH01-XS-Black'; 4 in stock "
            "and the emulated store takes no backorders",
            id="magento-oversell",
        ),
        pytest.param(
            ("shopify-us", "TEE-DENY", "3"),
            "store shopify-us: cannot sell 3 of 'TEE-DENY'; 2 in stock and its "
            "inventory policy is DENY (no overselling)",
            id="shopify-deny-oversell",
        ),
        pytest.param(
            ("magento-eu", "MH01", "1"),
            "store magento-eu: 'MH01' is a configurable product, which keeps no "
            "stock of its own; sell one of its simple products",
            id="configurable-parent",
        ),
        pytest.param(
            ("magento-eu", "LOOSE", "1"),
            "store magento-eu: 'LOOSE' does not manage stock; no quantity to sell",
            id="magento-unmanaged",
        ),
        pytest.param(
            ("shopify-us", "TEE-UNTRACKED", "1"),
            "store shopify-us: 'TEE-UNTRACKED' is not tracked; no quantity to sell",
            id="shopify-untracked",
        ),
    ],
)
def test_sales_a_shop_would_refuse_change_nothing(
    odd_repo: Repo, args: tuple[str, ...], message: str
) -> None:
    before = odd_repo.fingerprint()

    result = sell(odd_repo, *args)

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"reconcile sandbox: {message}\n",
    )
    assert odd_repo.fingerprint() == before


@pytest.mark.parametrize(
    ("store", "sku", "units", "after"),
    [
        pytest.param("shopify-us", "TEE-CONTINUE", "5", -3, id="continue-oversells"),
        pytest.param("shopify-us", "TEE-DENY", "2", 0, id="deny-sells-out"),
        pytest.param("magento-eu", "MH01-XS-Black", "4", 0, id="magento-sells-out"),
    ],
)
def test_sales_within_what_the_item_allows(
    odd_repo: Repo, store: str, sku: str, units: str, after: int
) -> None:
    result = sell(odd_repo, store, sku, units)

    quantity = (
        odd_repo.shopify().quantity(sku)
        if store == "shopify-us"
        else odd_repo.magento().quantity(sku)
    )
    before = after + int(units)
    assert (result.exit_code, result.stdout) == (
        0,
        f"{store}: sold {units} of {sku}; quantity {before} -> {after}\n",
    ), result.stderr
    assert quantity == after


def test_a_config_without_sandbox_stores_says_so(repo: Repo) -> None:
    (repo.config / "stores" / "magento-eu.yaml").unlink()
    (repo.config / "stores" / "shopify-us.yaml").unlink()
    (repo.config / "vendors" / "tees.yaml").unlink()
    repo.write("config/stores/magento-served.yaml", SERVED_STORE)

    result = sell(repo, "magento-served", "TEE-S", "1")

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        "reconcile sandbox: 'magento-served' is not a sandbox store"
        + SERVED_HINT
        + "; sandbox stores: none (no store of this config has a sandbox:// "
        "endpoint)\n",
    )


def test_a_dry_run_before_the_sandbox_command_is_refused(repo: Repo) -> None:
    result = CliRunner().invoke(
        main, ["--dry-run", "sandbox", "sell", "shopify-us", "TEE-S", "1"]
    )

    assert (result.exit_code, result.stderr) == (
        1,
        "reconcile: --dry-run is an option of a pass, not of 'sandbox'\n",
    )


def test_config_before_the_sandbox_command_reaches_sell(repo: Repo) -> None:
    result = CliRunner().invoke(
        main,
        [*repo.args(), "sandbox", "sell", "shopify-us", "TEE-S", "2"],
    )

    assert (result.exit_code, result.stdout) == (
        0,
        "shopify-us: sold 2 of TEE-S; quantity 8 -> 6\n",
    ), result.stderr

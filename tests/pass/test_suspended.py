"""Suspended stores: a full pass leaves them out and says so in its report;
``--store`` naming one runs it, with a warning on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.report.jsonreport import load_schema
from reconciler.runner import SuspendedStore
from tests.apply.world import World, make_world
from tests.cli import Repo, make_repo

PATH = "stores/shopify-us.yaml"
FILE = f"{PATH}:15"  # where `suspended: true` is written
WARNING = (
    f"reconcile: shopify-us is suspended ({FILE}); running it because --store "
    "names it\n"
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """magento-eu and shopify-us, the latter suspended."""
    monkeypatch.chdir(tmp_path)
    repo = make_repo(tmp_path)
    path = repo.config / PATH
    path.write_text(path.read_text() + "suspended: true\n")
    return repo


def dry_run(repo: Repo, *args: str) -> Result:
    return CliRunner().invoke(main, [*repo.args(), "--dry-run", *args])


def stores_of(result: Result) -> list[str]:
    return [store["store"] for store in json.loads(result.stdout)["stores"]]


def test_a_full_pass_lists_the_suspended_store_it_left_out(repo: Repo) -> None:
    text = dry_run(repo)
    document = dry_run(repo, "--format", "json")
    markdown = dry_run(repo, "--format", "markdown")

    assert text.exit_code == 0, text.stderr
    assert f"shopify-us: suspended in {FILE}, skipped" in (text.stdout.splitlines())
    assert "shopify-us <- hub" not in text.stdout
    plan = json.loads(document.stdout)
    jsonschema.Draft202012Validator(load_schema()).validate(plan)
    assert (stores_of(document), plan["suspended"]) == (
        ["magento-eu"],
        [{"store": "shopify-us", "file": FILE}],
    )
    assert f"| shopify-us | - | - | - | - | - | suspended ({FILE}) |" in (
        markdown.stdout.splitlines()
    )
    assert "suspended" not in text.stderr


def test_naming_a_suspended_store_runs_it_with_a_warning(repo: Repo) -> None:
    result = dry_run(repo, "--store", "shopify-us", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert result.stderr == WARNING
    assert "suspended" not in json.loads(result.stdout)
    assert stores_of(result) == ["magento-eu", "shopify-us"]


def test_naming_another_store_neither_lists_nor_warns(repo: Repo) -> None:
    result = dry_run(repo, "--store", "magento-eu", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert (result.stderr, stores_of(result)) == ("", ["magento-eu"])
    assert "suspended" not in json.loads(result.stdout)


@pytest.mark.parametrize(
    ("stores", "expected"),
    [
        pytest.param(
            (), (SuspendedStore("magento-uk", "stores/magento-uk.yaml:13"),), id="full"
        ),
        pytest.param(
            ("magento-uk",),
            (SuspendedStore("magento-uk", "stores/magento-uk.yaml:13", named=True),),
            id="named",
        ),
        pytest.param(("magento-eu",), (), id="other-named"),
    ],
)
def test_the_pass_result_carries_the_suspended_stores(
    tmp_path: Path, stores: tuple[str, ...], expected: tuple[SuspendedStore, ...]
) -> None:
    world: World = make_world(tmp_path)
    path = world.root / "config" / "stores" / "magento-uk.yaml"
    path.write_text(path.read_text() + "suspended: true\n")

    result = world.run(stores=stores, dry_run=True)

    assert result.suspended == expected
    read = sorted(store.store for store in result.plan.stores)
    assert ("magento-uk" in read) == bool(expected and expected[0].named)

"""``reconcile diff --base REV``: what a pull request changes in the policies."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.hub import open_state
from reconciler.hub.records import HubRecord
from tests.apply.world import STORE_FILE

TEES = """\
vendor: tees
inventory_feed:
  sync:
    mode: automatic
products:
  "TEE-S": {}
  "TEE-M":
    mode: manual
"""

HOODIES = """\
vendor: hoodies
products:
  "HOOD-1": {}
"""


IDENTITY = ("-c", "user.name=ci")


def store(name: str, direction: str) -> str:
    return STORE_FILE.format(name=name, direction=direction)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.email=ci@example.invalid",
            *IDENTITY,
            *args,
        ],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose ``config/`` has two stores and two vendors,
    committed as the base."""
    config = tmp_path / "config"
    (config / "stores").mkdir(parents=True)
    (config / "vendors").mkdir()
    write(config, "stores/magento-eu.yaml", store("magento-eu", "channel_to_hub"))
    write(config, "stores/shopify-us.yaml", store("shopify-us", "hub_to_channel"))
    write(config, "vendors/tees.yaml", TEES)
    write(config, "vendors/hoodies.yaml", HOODIES)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    return config


def write(config: Path, name: str, text: str) -> None:
    (config / name).write_text(text)


def diff(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["diff", "--config", str(config), *args])


def test_an_unchanged_config_has_no_policy_change(repo: Path) -> None:
    # The same value moved to another line is no change either.
    write(repo, "vendors/tees.yaml", "# tees\n" + TEES)

    result = diff(repo, "--base", "HEAD", "--detailed-exitcode")

    assert (result.exit_code, result.stdout) == (0, "No policy changes against HEAD.\n")


def test_vendor_wide_product_and_store_changes_are_listed(repo: Path) -> None:
    write(
        repo,
        "vendors/tees.yaml",
        TEES.replace("    mode: automatic\n", "    mode: automatic\n    interval: 1m\n")
        + '  "HOOD-1": {}\n',
    )
    write(repo, "vendors/hoodies.yaml", "vendor: hoodies\nproducts: {}\n")
    write(repo, "stores/outlet.yaml", store("outlet", "none"))

    result = diff(repo, "--base", "HEAD", "--detailed-exitcode")

    assert result.exit_code == 2, result.stderr
    assert result.stdout.splitlines() == [
        f"Policy changes, HEAD -> the working tree ({repo}):",
        "+ store outlet (new)",
        "    SKUs of no vendor: direction none  (stores/outlet.yaml:7 (store))",
        "    SKUs of no vendor: mode automatic  (stores/outlet.yaml:8 (store))",
        "    SKUs of no vendor: interval 5m  (stores/outlet.yaml:9 (store))",
        "    SKUs of vendor tees: interval 1m  (vendors/tees.yaml:5 (vendor))",
        "",
        "store magento-eu",
        "  SKUs of vendor tees that do not set interval themselves: interval 5m -> 1m"
        "  (vendors/tees.yaml:5 (vendor))",
        "  HOOD-1 (vendor hoodies -> tees): interval 5m -> 1m"
        "  (vendors/tees.yaml:5 (vendor))",
        "",
        "store shopify-us",
        "  SKUs of vendor tees that do not set interval themselves: interval 5m -> 1m"
        "  (vendors/tees.yaml:5 (vendor))",
        "  HOOD-1 (vendor hoodies -> tees): interval 5m -> 1m"
        "  (vendors/tees.yaml:5 (vendor))",
        "",
        "4 setting changes on 2 stores; 1 store added.",
    ]


def tee_m(
    store: str, setting: str, before: str, after: str, line: str
) -> dict[str, Any]:
    """A change of TEE-M's own, as JSON: ``line`` of vendors/tees.yaml and level."""
    return {
        "store": store,
        "scope": "product",
        "vendor": "tees",
        "vendor_before": "tees",
        "vendor_file": None,
        "sku": "TEE-M",
        "setting": setting,
        "before": before,
        "after": after,
        "source": f"vendors/tees.yaml:{line}",
    }


def test_a_product_override_change_is_named_with_its_line(repo: Path) -> None:
    overrides = "mode: automatic\n    stores:\n      shopify-us: {direction: none}"
    write(repo, "vendors/tees.yaml", TEES.replace("mode: manual", overrides))

    result = diff(repo, "--base", "HEAD", "--format", "json")

    document = json.loads(result.stdout)
    assert result.exit_code == 0, result.stderr
    assert document["changes"] == [
        tee_m("magento-eu", "mode", "manual", "automatic", "8 (product)"),
        tee_m(
            "shopify-us", "direction", "hub_to_channel", "none", "10 (product+store)"
        ),
        tee_m("shopify-us", "mode", "manual", "automatic", "8 (product)"),
    ]
    assert (document["base"], document["stores_added"]) == ("HEAD", [])
    assert (document["base_has_config"], document["stores_removed"]) == (True, [])


def test_markdown_is_a_table_for_a_pull_request_comment(repo: Path) -> None:
    write(repo, "stores/shopify-us.yaml", store("shopify-us", "none"))

    result = diff(repo, "--base", "HEAD", "--format", "markdown")

    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "### Policy changes against `HEAD`",
        "",
        "| store | SKUs | setting | before | after | set by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    assert lines[4] == (
        "| shopify-us | SKUs of no vendor | direction | hub_to_channel | none "
        "| stores/shopify-us.yaml:7 (store) |"
    )


def test_an_invalid_working_tree_is_refused_naming_its_side(repo: Path) -> None:
    write(repo, "stores/shopify-us.yaml", store("shopify-us", "sideways"))

    result = diff(repo, "--base", "HEAD")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(
        "reconcile diff: the config of the working tree is invalid:\n"
        "stores/shopify-us.yaml:7:"
    )


def test_an_invalid_base_is_refused_naming_the_revision(repo: Path) -> None:
    write(repo, "stores/shopify-us.yaml", "store: [\n")
    git(repo.parent, "commit", "-qam", "broken")
    write(repo, "stores/shopify-us.yaml", store("shopify-us", "none"))

    result = diff(repo, "--base", "HEAD")

    assert result.exit_code == 1
    assert result.stderr.startswith(
        "reconcile diff: the config of HEAD is invalid:\nstores/shopify-us.yaml:"
    )


def test_an_unknown_revision_and_no_repository_are_said(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    unknown = diff(repo, "--base", "no-such-branch")
    elsewhere = tmp_path_factory.mktemp("plain") / "config"
    shutil.copytree(repo, elsewhere)
    outside = diff(elsewhere, "--base", "HEAD")

    assert (unknown.exit_code, unknown.stdout) == (1, "")
    assert unknown.stderr == (
        f"reconcile diff: no-such-branch: not a commit of {repo.parent} (a branch, "
        "tag or commit id; in CI, fetch it first: git fetch origin BRANCH)\n"
    )
    assert (outside.exit_code, outside.stderr) == (
        1,
        f"reconcile diff: {elsewhere} is not in a git checkout; diff compares the "
        "config with a revision of its repository\n",
    )


def test_a_revision_without_the_config_folder_makes_every_store_new(
    repo: Path,
) -> None:
    git(repo.parent, "checkout", "-q", "--orphan", "empty")
    git(repo.parent, "rm", "-rq", "--cached", ".")
    (repo.parent / "README").write_text("empty\n")
    git(repo.parent, "add", "README")
    git(repo.parent, "commit", "-qm", "nothing")

    result = diff(repo, "--base", "empty", "--format", "json")

    document = json.loads(result.stdout)
    assert result.exit_code == 0, result.stderr
    assert document["base_has_config"] is False
    assert [store["store"] for store in document["stores_added"]] == [
        "magento-eu",
        "shopify-us",
    ]
    assert document["stores_added"][0]["settings"][0] == {
        "vendor": None,
        "setting": "direction",
        "value": "channel_to_hub",
        "source": "stores/magento-eu.yaml:7 (store)",
    }


def test_a_removed_store_says_what_it_was_master_of(repo: Path) -> None:
    (repo / "stores" / "magento-eu.yaml").unlink()

    result = diff(repo, "--base", "HEAD")

    assert result.stdout.splitlines()[1:] == [
        "- store magento-eu (removed): it was the master of SKUs of no vendor, "
        "SKUs of vendor hoodies, SKUs of vendor tees; their hub records lose that "
        "feed",
        "",
        "1 store removed.",
    ]


def test_an_unlisted_sku_s_vendor_comes_from_its_hub_record(repo: Path) -> None:
    """TEE-X is in the hub as a tee; listing it with an override is no move."""
    state = f"sqlite:///{repo.parent / 'state.db'}"
    with open_state(state) as hub:
        hub.put_hub_records(
            [HubRecord("TEE-X", "tees", True, 3, datetime.now(UTC), "import:x")]
        )
    write(repo, "vendors/tees.yaml", TEES + "  TEE-X: {interval: 1m}\n")

    result = diff(repo, "--base", "HEAD", "--state", state)

    assert result.stdout.splitlines()[2:4] == [
        "store magento-eu",
        "  TEE-X: interval 5m -> 1m  (vendors/tees.yaml:9 (product))",
    ]


def test_a_new_vendor_file_is_named_as_such(repo: Path) -> None:
    write(
        repo,
        "vendors/mugs.yaml",
        "vendor: mugs\ninventory_feed:\n  sync:\n    mode: manual\n",
    )

    result = diff(repo, "--base", "HEAD")

    assert result.stdout.splitlines()[2:4] == [
        "store magento-eu",
        "  SKUs of vendor mugs (vendor file added): mode automatic -> manual"
        "  (vendors/mugs.yaml:4 (vendor))",
    ]


def test_errors_are_documents_in_json(repo: Path) -> None:
    unknown = diff(repo, "--base", "no-such-branch", "--format", "json")
    write(repo, "stores/shopify-us.yaml", store("shopify-us", "sideways"))
    invalid = diff(repo, "--base", "HEAD", "--format", "json")

    assert json.loads(unknown.stdout)["kind"] == "usage_error"
    problems = json.loads(invalid.stdout)["problems"]
    assert problems[0]["message"].startswith("(the working tree) ")


@pytest.mark.parametrize("revision", ["--output=/tmp/x", "-h", " "])
def test_a_revision_like_an_option_is_refused_before_git_sees_it(
    repo: Path, revision: str
) -> None:
    result = diff(repo, f"--base={revision}")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"reconcile diff: {revision!r}: not a revision (a branch, tag or commit id, "
        "which never starts with '-')\n"
    )


def test_a_config_folder_that_is_a_link_is_followed_at_both_revisions(
    repo: Path,
) -> None:
    """The base has a real config/; the working tree moves it to conf/ and
    keeps config as a link to it, committed."""
    top = repo.parent
    git(top, "mv", "config", "conf")
    (top / "config").symlink_to("conf")
    git(top, "add", "config")
    git(top, "commit", "-qm", "config is a link")
    write(top / "conf", "stores/shopify-us.yaml", store("shopify-us", "none"))

    against_real = diff(top / "config", "--base", "HEAD~1")
    against_link = diff(top / "config", "--base", "HEAD")

    assert against_real.exit_code == 0, against_real.stderr
    assert "SKUs of no vendor: direction hub_to_channel -> none" in against_real.stdout
    assert "every store is new" not in against_real.stdout
    assert against_link.stdout == against_real.stdout.replace("HEAD~1", "HEAD")


def test_a_linked_file_in_the_base_config_is_read_as_the_loader_reads_it(
    repo: Path,
) -> None:
    top = repo.parent
    (top / "shared").mkdir()
    git(top, "mv", "config/stores/magento-eu.yaml", "shared/magento-eu.yaml")
    (repo / "stores" / "magento-eu.yaml").symlink_to("../../shared/magento-eu.yaml")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "a shared store file")

    result = diff(repo, "--base", "HEAD", "--detailed-exitcode")

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "No policy changes against HEAD.\n"


def test_git_taking_too_long_is_an_error_not_a_crash(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(*args: object, **kwargs: object) -> None:
        raise subprocess.TimeoutExpired("git", 60)

    monkeypatch.setattr(subprocess, "run", slow)

    result = diff(repo, "--base", "HEAD")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "reconcile diff: git rev-parse took longer than 60 s; nothing compared\n"
    )


def test_a_long_markdown_table_stays_within_a_comment(repo: Path) -> None:
    products = "".join(f'  "MANY-{n:04}": {{interval: 1m}}\n' for n in range(600))
    write(repo, "vendors/tees.yaml", TEES + products)

    result = diff(repo, "--base", "HEAD", "--format", "markdown")
    text = diff(repo, "--base", "HEAD")

    lines = result.stdout.splitlines()
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout) < 21_000
    assert lines[-1] == "1,200 setting changes on 2 stores."
    shown = sum(1 for line in lines if line.startswith("| magento-eu | MANY-")) + sum(
        1 for line in lines if line.startswith("| shopify-us | MANY-")
    )
    assert (
        lines[-3]
        == f"…and {1200 - shown:,} more (the text and JSON outputs list every one)."
    )
    assert text.stdout.count("MANY-") == 1200

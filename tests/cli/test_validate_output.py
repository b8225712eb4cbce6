"""``reconcile validate``: JSON on stdout in every case, Markdown on request,
and a folder that is not a config repository is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from tests.cli import Repo, make_repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(tmp_path)
    return make_repo(tmp_path)


def test_a_valid_config_in_json_is_an_empty_list(repo: Repo) -> None:
    result = CliRunner().invoke(
        main, ["validate", "--config", str(repo.config), "--format", "json"]
    )

    assert (result.exit_code, json.loads(result.stdout), result.stderr) == (
        0,
        [],
        f"{repo.config}: valid; 2 stores, 1 vendor, 1 product\n",
    )


def test_markdown_from_the_environment_gives_the_summary(repo: Repo) -> None:
    result = CliRunner().invoke(
        main,
        ["validate", "--config", str(repo.config)],
        env={"RECONCILER_FORMAT": "markdown"},
    )

    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"**{repo.config}: valid; 2 stores, 1 vendor, 1 product**\n",
        "",
    )


def test_markdown_lists_the_problems(repo: Repo) -> None:
    repo.write("config/stores/shopify-us.yaml", "store: shopify-us\n")

    result = CliRunner().invoke(
        main, ["validate", "--config", str(repo.config), "--format", "markdown"]
    )

    assert result.exit_code == 1
    items = result.stdout.splitlines()
    assert items and all(item.startswith("- `stores/shopify-us.yaml") for item in items)
    assert all(" *error*: " in item for item in items)


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        pytest.param(
            ".",
            ".: no stores/ folder; is this the config repository?\n",
            id="repository-parent",
        ),
        pytest.param(
            "config/stores",
            "config/stores: no stores/ folder; is this the config repository?\n",
            id="stores-folder",
        ),
        pytest.param(
            "config",
            "stores: no store file (stores/*.yaml); a config needs at least one "
            "store\n",
            id="no-store-file",
        ),
    ],
)
def test_a_wrong_config_folder_is_invalid(
    repo: Repo, folder: str, expected: str
) -> None:
    if folder == "config":
        for path in (repo.config / "stores").glob("*.yaml"):
            path.unlink()
        (repo.config / "vendors" / "tees.yaml").unlink()

    result = CliRunner().invoke(main, ["validate", "--config", folder])

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        expected,
    )

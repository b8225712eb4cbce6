"""``reconcile history``: one key once, the state from reconciler.yaml, JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from tests.cli import Repo, make_repo

BATCH = "sku,quantity_available,vendor\nTEE-S,8,tees\nTEE-M,6,tees\n"
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """An import (run 1) and its push (run 2); reconciler.yaml names the state."""
    monkeypatch.chdir(tmp_path)
    repo = make_repo(tmp_path / "repo")
    repo.write("config/reconciler.yaml", f"state: {repo.state_url}\n")
    path = repo.write("batch.csv", BATCH)
    result = CliRunner().invoke(main, ["import", str(path), *repo.args(), "--yes"])
    assert result.exit_code == 0, result.stderr
    return repo


def history(*args: str) -> Result:
    return CliRunner().invoke(main, ["history", *args])


def test_runs_name_each_key_once_with_state_from_reconciler_yaml(repo: Repo) -> None:
    result = history("--config", str(repo.config))

    lines = [TIME.sub("T", line) for line in result.stdout.splitlines()]
    assert (result.exit_code, result.stderr) == (0, "")
    assert [" ".join(line.split()[:8]) for line in lines] == [
        "run 2 pass succeeded T -> T stores=magento-eu,shopify-us",
        "run 1 import succeeded T -> T stores=-",
    ]
    for line in lines:
        keys = [word.split("=")[0] for word in line.split() if "=" in word]
        assert len(keys) == len(set(keys)), line


def test_a_run_as_json(repo: Repo) -> None:
    result = history("--config", str(repo.config), "--run", "2", "--format", "json")

    document = json.loads(result.stdout)
    assert result.exit_code == 0, result.stderr
    assert {key: document[key] for key in ("id", "kind", "status", "stores")} == {
        "id": 2,
        "kind": "pass",
        "status": "succeeded",
        "stores": ["magento-eu", "shopify-us"],
    }
    assert "stores" not in document["summary"]
    assert sorted(
        (e["store"], e["sku"], e["target"], e["before"], e["after"], e["outcome"])
        for e in document["journal"]
    ) == [
        ("magento-eu", "TEE-M", "channel", 10, 6, "applied"),
        ("magento-eu", "TEE-S", "channel", 10, 8, "applied"),
        ("shopify-us", "TEE-M", "channel", 1, 6, "applied"),
        ("shopify-us", "TEE-S", "channel", 1, 8, "applied"),
    ]


def test_state_option_beats_reconciler_yaml(repo: Repo, tmp_path: Path) -> None:
    other = tmp_path / "other.db"

    result = history("--config", str(repo.config), "--state", f"sqlite:///{other}")

    assert (result.exit_code, result.stdout) == (0, "no runs yet\n")
    assert not other.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--run", "9"],
            "reconcile history: no run 9 in the state store\n",
            id="no-such-run",
        ),
        pytest.param(
            ["--state", "sqlite:///absent.db", "--run", "1"],
            "reconcile history: no run 1: no state store yet\n",
            id="no-state-store",
        ),
    ],
)
def test_a_missing_run_is_an_error(repo: Repo, args: list[str], message: str) -> None:
    result = history("--config", str(repo.config), *args)

    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)


def test_an_invalid_config_is_reported_when_it_names_the_state(repo: Repo) -> None:
    repo.write("config/reconciler.yaml", "state: [not, a, url]\n")

    result = history("--config", str(repo.config))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "reconcile history: config invalid: 1 problem; "
        "pass --state to read the history anyway"
    )


def test_the_import_journal_gives_flags_as_booleans_and_none_as_null(
    repo: Repo,
) -> None:
    result = history("--config", str(repo.config), "--run", "1", "--format", "json")

    journal = json.loads(result.stdout)["journal"]
    assert sorted((e["sku"], e["field"], e["before"], e["after"]) for e in journal) == [
        ("TEE-M", "manage_inventory", None, True),
        ("TEE-M", "quantity_available", None, 6),
        ("TEE-S", "manage_inventory", None, True),
        ("TEE-S", "quantity_available", None, 8),
    ]


def test_the_text_journal_writes_no_value_as_a_dash(repo: Repo) -> None:
    result = history("--config", str(repo.config), "--run", "1")

    entries = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert sorted(entries) == [
        "  import:batch.csv TEE-M hub.manage_inventory: - -> true  applied",
        "  import:batch.csv TEE-M hub.quantity_available: - -> 6  applied",
        "  import:batch.csv TEE-S hub.manage_inventory: - -> true  applied",
        "  import:batch.csv TEE-S hub.quantity_available: - -> 8  applied",
    ]


def test_markdown_is_a_table_of_runs(repo: Repo) -> None:
    result = CliRunner().invoke(
        main,
        ["history", "--config", str(repo.config)],
        env={"RECONCILER_FORMAT": "markdown"},
    )

    rows = [TIME.sub("T", line) for line in result.stdout.splitlines()]
    assert (result.exit_code, result.stderr) == (0, "")
    assert rows[:2] == [
        "| run | kind | status | started | finished | stores | summary |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    assert [row.split(" | ")[:6] for row in rows[2:]] == [
        ["| 2", "pass", "succeeded", "T", "T", "magento-eu, shopify-us"],
        ["| 1", "import", "succeeded", "T", "T", "-"],
    ]


@pytest.mark.parametrize("limit", ["0", "-1"], ids=["zero", "negative"])
def test_a_limit_below_one_is_refused(repo: Repo, limit: str) -> None:
    result = history("--config", str(repo.config), "--limit", limit)

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.endswith(
        f"Error: Invalid value for '--limit': {limit} is not in the range x>=1.\n"
    )


def test_a_run_names_each_stores_outcome(repo: Repo) -> None:
    text = history("--config", str(repo.config), "--run", "2")
    document = json.loads(
        history("--config", str(repo.config), "--run", "2", "--format", "json").stdout
    )

    assert text.exit_code == 0, text.stderr
    assert [line for line in text.stdout.splitlines() if line.startswith("  ")][:2] == [
        "  magento-eu  ok",
        "  shopify-us  ok",
    ]
    assert document["stores_outcome"] == {
        "magento-eu": {"outcome": "ok", "error": None, "unresolved": 0},
        "shopify-us": {"outcome": "ok", "error": None, "unresolved": 0},
    }

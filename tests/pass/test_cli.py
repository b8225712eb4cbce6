"""The root command: a pass over sandbox stores seeded from export files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.hub import open_state
from tests.apply.world import STORE_FILE, seed_hub

SEED = """\
sku,product_type,qty,is_in_stock,manage_stock,use_config_manage_stock
A-1,simple,9,1,1,0
B-2,simple,4,1,1,0
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """magento-eu (master) and magento-uk sandboxes; the state in ./.reconciler."""
    config = tmp_path / "config"
    (config / "vendors").mkdir(parents=True)
    (config / "stores").mkdir()
    for name, direction, seed in (
        ("magento-eu", "channel_to_hub", SEED),
        ("magento-uk", "hub_to_channel", SEED.replace(",9,", ",1,")),
    ):
        (config / f"{name}.csv").write_text(seed)
        text = STORE_FILE.format(name=name, direction=direction)
        text = text.replace("  store_code", f"  seed: {name}.csv\n  store_code")
        (config / "stores" / f"{name}.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def state_url(repo: Path) -> str:
    return f"sqlite:///{repo / '.reconciler' / 'state.db'}"


def test_apply_without_terminal_needs_yes(repo: Path) -> None:
    result = CliRunner().invoke(main, [])

    assert result.exit_code == 1
    assert "pass --yes to apply without a terminal" in result.stderr
    assert not (repo / ".reconciler").exists()


def test_dry_run_json_then_apply_then_nothing_pending(repo: Path) -> None:
    seed_hub(state_url(repo), {"A-1": (True, 5), "B-2": (True, 4)})
    runner = CliRunner()

    planned = runner.invoke(
        main, ["--dry-run", "--detailed-exitcode", "--format", "json"]
    )
    applied = runner.invoke(main, ["--yes"])
    again = runner.invoke(main, ["--dry-run", "--detailed-exitcode"])

    assert planned.exit_code == 2, planned.stderr
    assert json.loads(planned.stdout)["summary"]["pushes"] == 1
    assert applied.exit_code == 0, applied.stderr
    assert again.exit_code == 0, again.stdout
    with open_state(state_url(repo)) as state:
        hub = state.hub_records()
        run_ids = [run.id for run in state.runs()]
    assert hub["A-1"].quantity_available == 9
    assert len(run_ids) == 1


def test_history_lists_the_run_and_its_journal(repo: Path) -> None:
    seed_hub(state_url(repo), {"A-1": (True, 5), "B-2": (True, 4)})
    runner = CliRunner()
    runner.invoke(main, ["--yes"])

    runs = runner.invoke(main, ["history"])
    journal = runner.invoke(main, ["history", "--run", "1"])

    assert runs.exit_code == journal.exit_code == 0
    assert runs.stdout.startswith("run 1  pass   succeeded")
    assert journal.stdout.splitlines()[1:] == [
        "  magento-eu  ok",
        "  magento-uk  ok",
        "  magento-eu A-1 hub.quantity_available: 5 -> 9  applied",
        "  magento-uk A-1 channel.quantity_available: 1 -> 9  applied",
    ]


def test_invalid_config_prints_file_and_line_and_changes_nothing(repo: Path) -> None:
    store_file = repo / "config" / "stores" / "magento-uk.yaml"
    store_file.write_text(store_file.read_text().replace("hub_to_channel", "up"))

    result = CliRunner().invoke(main, ["--yes"])

    assert result.exit_code == 1
    assert result.stderr.startswith("stores/magento-uk.yaml:")
    assert result.stdout == ""
    assert not (repo / ".reconciler").exists()


def test_unknown_store_is_refused(repo: Path) -> None:
    result = CliRunner().invoke(main, ["--dry-run", "--store", "nowhere"])

    assert result.exit_code == 1
    assert "unknown store 'nowhere'" in result.stderr

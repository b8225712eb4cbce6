"""Answering no at the prompt: the plan once, ``Nothing applied.``, exit 1,
and nothing written anywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click import testing
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.hub.records import HubRecord
from tests.cli import STOCK, Repo, make_repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """A repository, and click's test input passing for a terminal."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(testing._NamedTextIOWrapper, "isatty", lambda self: True)
    return make_repo(tmp_path)


def test_a_declined_pass_prints_its_plan_once_and_says_nothing_was_applied(
    repo: Repo,
) -> None:
    at = datetime(2025, 3, 1, tzinfo=UTC)
    repo.put_hub([HubRecord("TEE-S", "tees", True, 3, at, "import:seed.csv")])
    planned = CliRunner().invoke(main, [*repo.args(), "--dry-run"])
    before = repo.fingerprint()

    result = CliRunner().invoke(main, repo.args(), input="n\n")

    assert result.exit_code == 1
    assert result.stdout == planned.stdout
    assert result.stderr.endswith("Apply these changes? [y/N]: n\nNothing applied.\n")
    assert _without_lock(repo.fingerprint()) == before


def _without_lock(fingerprint: dict[str, str]) -> dict[str, str]:
    """The files a pass writes, without the lock file an applying pass takes."""
    return {name: digest for name, digest in fingerprint.items() if "lock" not in name}


def test_a_declined_import_says_nothing_was_applied(repo: Repo) -> None:
    batch = repo.write("batch.csv", "sku,quantity_available,vendor\nTEE-S,7,tees\n")

    result = CliRunner().invoke(main, ["import", str(batch), *repo.args()], input="n\n")

    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Import these records and push them? [y/N]: n\nNothing applied.\n"
    )
    assert repo.hub() == {}
    assert repo.runs() == []


def test_nothing_to_confirm_when_the_guard_blocks_every_change(
    tmp_path: Path, repo: Repo
) -> None:
    zeroed = make_repo(tmp_path / "zeroed", dict.fromkeys(STOCK, (0, 5)), vendor=False)
    at = datetime(2025, 3, 1, tzinfo=UTC)
    zeroed.put_hub(
        [HubRecord(sku, None, True, 5, at, "import:seed.csv") for sku in STOCK]
    )

    result = CliRunner().invoke(main, zeroed.args(), input="y\n")

    assert result.exit_code == 1
    assert "Apply these changes?" not in result.stderr
    said = result.stderr.splitlines()[-1]  # after the progress lines
    assert said.startswith(
        "reconcile: magento-eu: guard: plan zeroes 3 of 3 managed SKUs (100.0%) "
        "on magento-eu; guard.max_zeroed is 5% in stores/magento-eu.yaml:12"
    )
    assert {sku: record.quantity_available for sku, record in zeroed.hub().items()} == (
        dict.fromkeys(STOCK, 5)
    )

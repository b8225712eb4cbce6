"""The root group's options: shared ones reach the command whichever side of
it they stand, pass-only ones are refused before a command, and every usage
mistake exits 1 (2 means "changes pending")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from tests.cli import Repo, make_repo

VALID = "{config}: valid; 2 stores, 1 vendor, 1 product\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(tmp_path)
    return make_repo(tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--config", "{config}", "validate"], id="before"),
        pytest.param(["validate", "--config", "{config}"], id="after"),
    ],
)
def test_config_is_read_before_or_after_the_command(
    repo: Repo, args: list[str]
) -> None:
    named = [arg.format(config=repo.config) for arg in args]

    result = CliRunner().invoke(main, named)

    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        VALID.format(config=repo.config),
        "",
    )


def test_a_wrong_config_before_the_command_is_the_one_validated(
    repo: Repo, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main, ["--config", str(tmp_path / "nosuch"), "validate"]
    )

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"{tmp_path / 'nosuch'}: config folder not found; pass --config DIR\n",
    )


def test_format_before_the_command_reaches_it(repo: Repo) -> None:
    result = CliRunner().invoke(
        main, ["--format", "json", "--config", str(repo.config), "validate"]
    )

    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


@pytest.mark.parametrize(
    ("args", "env", "shown"),
    [
        pytest.param(["--format", "text"], "json", "text", id="root-beats-variable"),
        pytest.param([], "json", "json", id="variable-alone"),
        pytest.param(["--format", "json"], "text", "json", id="root-over-text"),
    ],
)
def test_a_root_option_written_before_the_command_beats_its_variable(
    repo: Repo, args: list[str], env: str, shown: str
) -> None:
    result = CliRunner().invoke(
        main,
        [*args, "--config", str(repo.config), "validate"],
        env={"RECONCILER_FORMAT": env},
    )

    assert result.exit_code == 0
    if shown == "json":
        assert json.loads(result.stdout) == []
    else:
        assert result.stdout == VALID.format(config=repo.config)


def test_state_before_history_reads_that_store(repo: Repo) -> None:
    applied = CliRunner().invoke(main, [*repo.args(), "--yes"])
    elsewhere = repo.root / "elsewhere.db"

    result = CliRunner().invoke(
        main, ["--state", f"sqlite:///{elsewhere}", "history", "--config", "nosuch"]
    )

    assert applied.exit_code == 0
    assert (result.exit_code, result.stdout) == (0, "no runs yet\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--dry-run", "validate"],
            "reconcile: --dry-run is an option of a pass, not of 'validate'\n",
            id="dry-run",
        ),
        pytest.param(
            ["--detailed-exitcode", "history"],
            "reconcile: --detailed-exitcode is an option of a pass, not of 'history'\n",
            id="detailed-exitcode",
        ),
        pytest.param(
            ["--sku", "TEE-S", "validate"],
            "reconcile: --sku is an option of a pass, not of 'validate'\n",
            id="sku",
        ),
        pytest.param(
            ["--include-manual", "explain", "TEE-S"],
            "reconcile: --include-manual is an option of a pass, not of 'explain'\n",
            id="include-manual",
        ),
    ],
)
def test_a_pass_option_before_a_command_is_refused(
    repo: Repo, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, args)

    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)


def test_a_pass_option_from_the_environment_does_not_stop_a_command(
    repo: Repo,
) -> None:
    result = CliRunner().invoke(
        main,
        ["validate", "--config", str(repo.config)],
        env={"RECONCILER_DETAILED_EXITCODE": "1"},
    )

    assert result.exit_code == 0


def test_the_dry_run_before_import_is_handed_to_it(repo: Repo) -> None:
    batch = repo.write("batch.csv", "sku,quantity_available\nTEE-S,7\n")

    result = CliRunner().invoke(main, ["--dry-run", *repo.args(), "import", str(batch)])

    assert result.exit_code == 0
    assert "would change 1 hub record (1 new)" in result.stdout
    assert not repo.state_dir.exists()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        pytest.param(
            ["--dry-run", "--detailed-exitcode", "--fromat", "json"],
            {},
            "Error: No such option '--fromat'. Did you mean '--format'?\n",
            id="unknown-option",
        ),
        pytest.param(
            ["--dry-run", "--format", "yaml"],
            {},
            "Error: Invalid value for '--format' (env var: 'RECONCILER_FORMAT'): "
            "'yaml' is not one of 'text', 'json', 'markdown'.\n",
            id="bad-choice",
        ),
        pytest.param(
            ["validate"],
            {"RECONCILER_FORMAT": "yaml"},
            "Error: Invalid value for '--format' (env var: 'RECONCILER_FORMAT'): "
            "'yaml' is not one of 'text', 'json', 'markdown'.\n",
            id="bad-env-value",
        ),
        pytest.param(
            ["explain"],
            {},
            "Error: Missing argument 'SKU'.\n",
            id="missing-argument",
        ),
        pytest.param(
            ["history", "--limit", "0"],
            {},
            "Error: Invalid value for '--limit': 0 is not in the range x>=1.\n",
            id="history-limit",
        ),
    ],
)
def test_usage_errors_exit_1_not_the_pending_code(
    repo: Repo, args: list[str], env: dict[str, str], message: str
) -> None:
    result = CliRunner().invoke(main, args, env=env)

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.endswith(message)
    assert result.stderr.startswith("Usage: ")
    assert not repo.state_dir.exists()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["validate", "-v", "--config", "{config}"], id="validate"),
        pytest.param(["-v", "validate", "--config", "{config}"], id="before"),
        pytest.param(["explain", "TEE-S", "-v", "--config", "{config}"], id="explain"),
    ],
)
def test_verbose_is_taken_after_every_command(repo: Repo, args: list[str]) -> None:
    named = [arg.format(config=repo.config) for arg in args]

    result = CliRunner().invoke(main, named)

    assert result.exit_code == 0
    assert "level=INFO event=config.loaded" in result.stderr


def test_the_console_script_exits_1_on_a_usage_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(sys.executable).parent / "reconcile"
    done = subprocess.run(
        [str(script), "--fromat", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )

    assert done.returncode == 1
    assert "No such option '--fromat'" in done.stderr

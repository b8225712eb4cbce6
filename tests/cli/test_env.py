"""Every option is also read from the ``RECONCILER_*`` variable named after it.

Precedence: the command line, then the environment, then ``reconciler.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from tests.cli import Repo, make_repo

BATCH = "sku,quantity_available,vendor\nTEE-S,8,tees\nTEE-M,6,tees\n"
TEE_S = "shopify-us <- hub TEE-S quantity_available 5 -> 8 [drift]"
TEE_M = "shopify-us <- hub TEE-M quantity_available 4 -> 6 [drift]"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """The hub holds TEE-S at 8 and TEE-M (manual) at 6; shopify-us sold 3 and
    2 of them. The repository is not in the working folder, so the defaults
    (``config``, ``.reconciler/state.db``) do not find it."""
    monkeypatch.chdir(tmp_path)
    repo = make_repo(tmp_path / "repo")
    path = repo.write("batch.csv", BATCH)
    runner = CliRunner()
    imported = runner.invoke(main, ["import", str(path), *repo.args(), "--yes"])
    assert imported.exit_code == 0, imported.stderr
    for sku, units in (("TEE-S", "3"), ("TEE-M", "2")):
        sold = runner.invoke(main, ["sandbox", "sell", "shopify-us", sku, units])
        assert sold.exit_code == 1  # the default config folder is not here
        sold = runner.invoke(
            main, ["sandbox", "sell", "shopify-us", sku, units, *repo.args()]
        )
        assert sold.exit_code == 0, sold.stderr
    return repo


def located(repo: Repo) -> dict[str, str]:
    return {"RECONCILER_CONFIG": str(repo.config), "RECONCILER_STATE": repo.state_url}


def invoke(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, args, env=env)


def changes(result: Result) -> list[str]:
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    return [line for line in lines if "<-" in line]


def test_config_and_state_come_from_the_environment(repo: Repo) -> None:
    result = invoke(["--dry-run"], located(repo))

    assert (result.exit_code, result.stderr) == (0, "")
    assert changes(result) == [TEE_S]


@pytest.mark.parametrize(
    ("variables", "code", "expected"),
    [
        pytest.param({"RECONCILER_STORE": "magento-eu"}, 0, [], id="store"),
        pytest.param(
            {"RECONCILER_STORE": "magento-eu shopify-us"}, 0, [TEE_S], id="stores"
        ),
        pytest.param({"RECONCILER_SKU": "TEE-M MUG-1"}, 0, [TEE_M], id="skus"),
        pytest.param(
            {"RECONCILER_INCLUDE_MANUAL": "1"}, 0, [TEE_M, TEE_S], id="include-manual"
        ),
        pytest.param(
            {"RECONCILER_DETAILED_EXITCODE": "true"}, 2, [TEE_S], id="detailed-exitcode"
        ),
    ],
)
def test_pass_options_come_from_the_environment(
    repo: Repo, variables: dict[str, str], code: int, expected: list[str]
) -> None:
    result = invoke(["--dry-run"], {**located(repo), **variables})

    assert (result.exit_code, result.stderr) == (code, "")
    assert changes(result) == expected


def test_format_comes_from_the_environment(repo: Repo) -> None:
    result = invoke(["--dry-run"], {**located(repo), "RECONCILER_FORMAT": "json"})

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["pushes"] == 1


def test_allow_mass_change_comes_from_the_environment(repo: Repo) -> None:
    variables = {**located(repo), "RECONCILER_ALLOW_MASS_CHANGE": "shopify-us eu"}
    before = repo.fingerprint()

    result = invoke(["--dry-run"], variables)

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        "reconcile: --allow-mass-change: unknown store 'eu' "
        "(known: magento-eu, shopify-us)\n",
    )
    assert repo.fingerprint() == before


def test_verbose_comes_from_the_environment(repo: Repo) -> None:
    result = invoke(["--dry-run"], {**located(repo), "RECONCILER_VERBOSE": "1"})

    assert result.exit_code == 0
    assert "level=INFO event=pass.read store=shopify-us sku_count=3" in (
        result.stderr.splitlines()
    )


def test_yes_is_never_read_from_the_environment(repo: Repo) -> None:
    """A variable left exported must not turn every later run into an apply."""
    before = repo.fingerprint()

    result = invoke([], {**located(repo), "RECONCILER_YES": "1"})

    assert (result.exit_code, result.stderr) == (
        1,
        "reconcile: pass --yes to apply without a terminal\n",
    )
    assert repo.fingerprint() == before


def test_the_command_line_beats_the_environment(repo: Repo) -> None:
    variables = {**located(repo), "RECONCILER_STORE": "magento-eu"}

    result = invoke(["--dry-run", "--store", "shopify-us"], variables)

    assert result.exit_code == 0, result.stderr
    assert changes(result) == [TEE_S]


def test_the_environment_beats_reconciler_yaml(repo: Repo, tmp_path: Path) -> None:
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    repo.write("config/reconciler.yaml", f"state: {elsewhere}\n")
    config_only = {"RECONCILER_CONFIG": str(repo.config)}

    from_yaml = invoke(["--dry-run"], config_only)
    from_env = invoke(["--dry-run"], located(repo))

    assert (from_yaml.exit_code, changes(from_yaml)) == (0, [])
    assert "skipped 3 (unknown_to_hub): MUG-1, TEE-M, TEE-S" in from_yaml.stdout
    assert (from_env.exit_code, changes(from_env)) == (0, [TEE_S])
    assert not (tmp_path / "elsewhere.db").exists()


def test_validate_reads_config_and_format(repo: Repo) -> None:
    valid = invoke(["validate"], located(repo))
    repo.write("config/stores/broken.yaml", "store: broken\n")
    invalid = invoke(["validate"], {**located(repo), "RECONCILER_FORMAT": "json"})

    assert (valid.exit_code, valid.stdout) == (
        0,
        f"{repo.config}: valid; 2 stores, 1 vendor, 1 product\n",
    )
    assert invalid.exit_code == 1
    assert {p["path"] for p in json.loads(invalid.stdout)} == {"stores/broken.yaml"}


def test_import_reads_config_and_state(repo: Repo) -> None:
    path = repo.write("again.csv", "sku,quantity_available,vendor\nTEE-S,7,tees\n")

    result = invoke(["import", str(path), "--yes"], located(repo))

    assert result.exit_code == 0, result.stderr
    assert repo.hub()["TEE-S"].quantity_available == 7
    assert repo.shopify().quantity("TEE-S") == 7


def test_history_reads_state_and_format(repo: Repo) -> None:
    text = invoke(["history"], {"RECONCILER_STATE": repo.state_url})
    as_json = invoke(
        ["history"], {"RECONCILER_STATE": repo.state_url, "RECONCILER_FORMAT": "json"}
    )

    assert text.exit_code == as_json.exit_code == 0
    assert [line.split()[:4] for line in text.stdout.splitlines()] == [
        ["run", "2", "pass", "succeeded"],
        ["run", "1", "import", "succeeded"],
    ]
    assert [(run["id"], run["kind"]) for run in json.loads(as_json.stdout)] == [
        (2, "pass"),
        (1, "import"),
    ]


@pytest.mark.parametrize(
    ("command", "variables"),
    [
        pytest.param(
            [],
            [
                "RECONCILER_VERBOSE",
                "RECONCILER_CONFIG",
                "RECONCILER_STATE",
                "RECONCILER_STORE",
                "RECONCILER_SKU",
                "RECONCILER_INCLUDE_MANUAL",
                "RECONCILER_FORMAT",
                "RECONCILER_DETAILED_EXITCODE",
                "RECONCILER_ALLOW_MASS_CHANGE",
            ],
            id="pass",
        ),
        pytest.param(
            ["validate"], ["RECONCILER_CONFIG", "RECONCILER_FORMAT"], id="validate"
        ),
        pytest.param(
            ["explain"],
            [
                "RECONCILER_STORE",
                "RECONCILER_CONFIG",
                "RECONCILER_STATE",
                "RECONCILER_FORMAT",
            ],
            id="explain",
        ),
        pytest.param(
            ["import"],
            [
                "RECONCILER_CONFIG",
                "RECONCILER_STATE",
                "RECONCILER_ALLOW_MASS_CHANGE",
                "RECONCILER_FORMAT",
            ],
            id="import",
        ),
        pytest.param(
            ["history"],
            ["RECONCILER_CONFIG", "RECONCILER_STATE", "RECONCILER_FORMAT"],
            id="history",
        ),
        pytest.param(
            ["sandbox", "sell"], ["RECONCILER_CONFIG", "RECONCILER_STATE"], id="sell"
        ),
        pytest.param(
            ["status"], ["RECONCILER_CONFIG", "RECONCILER_STATE"], id="status"
        ),
        pytest.param(
            ["daemon"], ["RECONCILER_CONFIG", "RECONCILER_STATE"], id="daemon"
        ),
    ],
)
def test_help_names_each_variable_in_order(
    command: list[str], variables: list[str]
) -> None:
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=200)

    shown = [word.strip("[];") for word in result.stdout.split()]
    assert result.exit_code == 0
    assert [word for word in shown if word.startswith("RECONCILER_")] == variables

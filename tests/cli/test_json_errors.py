"""Error documents on stdout: a pass or import stopped before its plan, and an
import with nothing to push, in JSON (checked against the schema) and Markdown."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.report.documents import load_schema
from tests.cli import Repo, make_repo
from tests.report.test_json import object_schemas

VALIDATOR = jsonschema.Draft202012Validator(load_schema())
BAD_STORE = (
    "store: shopify-us\nchannel:\n  type: shopify\ninventory:\n  direction: up\n"
)
UNKNOWN_STORE = "unknown store 'nope' (known: magento-eu, shopify-us)"
NOT_A_URL = (
    "state URL is not a database URL; "
    "use sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE"
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(tmp_path)
    return make_repo(tmp_path)


def a_pass(repo: Repo, *args: str) -> Result:
    return CliRunner().invoke(main, [*repo.args(), "--dry-run", *args])


def an_import(
    repo: Repo, *args: str, batch: str = "sku,quantity_available\n"
) -> Result:
    path = repo.write("batch.csv", batch)
    return CliRunner().invoke(main, ["import", str(path), *repo.args(), *args])


Command = Callable[..., Result]
COMMANDS = [pytest.param(a_pass, id="pass"), pytest.param(an_import, id="import")]


def json_document(result: Result) -> dict[str, object]:
    """The one document on stdout, after checking it against the schema."""
    document = json.loads(result.stdout)
    VALIDATOR.validate(document)
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("command", COMMANDS)
def test_invalid_config_lists_the_problems_validate_lists(
    repo: Repo, command: Command
) -> None:
    repo.write("config/stores/shopify-us.yaml", BAD_STORE)
    listed = CliRunner().invoke(
        main, ["validate", "--config", str(repo.config), "--format", "json"]
    )

    result = command(repo, "--dry-run", "--format", "json")

    assert result.exit_code == 1
    problems = json.loads(listed.stdout)
    assert problems, listed.stdout
    assert json_document(result) == {
        "schema_version": "1",
        "kind": "config_invalid",
        "problems": problems,
    }
    assert "config invalid" in result.stderr
    assert repo.fingerprint() == {}


MUGS_VENDOR = """\
vendor: mugs
products:
  MUG-1:
    stores:
      shopify-us: {direction: channel_to_hub}
"""
CAPS_VENDOR = "vendor: caps\nproducts:\n  CAP-1: {mode: sometimes}\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_two_masters_are_listed_beside_a_problem_of_another_file(
    repo: Repo, command: Command
) -> None:
    repo.write("config/vendors/mugs.yaml", MUGS_VENDOR)
    repo.write("config/vendors/caps.yaml", CAPS_VENDOR)

    result = command(repo, "--dry-run", "--format", "json")

    assert result.exit_code == 1
    problems = json_document(result)["problems"]
    assert isinstance(problems, list)
    assert [
        (p["path"], p["line"], p["column"], p["message"].split(":")[0])
        for p in problems
    ] == [
        ("vendors/caps.yaml", 3, 17, "products.CAP-1.mode"),
        ("vendors/mugs.yaml", 5, 31, "two masters for SKU MUG-1"),
    ]
    assert repo.fingerprint() == {}


@pytest.mark.parametrize("command", COMMANDS)
def test_unusable_state_store_is_a_state_error(repo: Repo, command: Command) -> None:
    result = command(repo, "--dry-run", "--format", "json", "--state", "not-a-url")

    assert result.exit_code == 1
    assert json_document(result) == {
        "schema_version": "1",
        "kind": "state_error",
        "message": NOT_A_URL,
    }
    assert NOT_A_URL in result.stderr


def test_an_unknown_store_is_a_usage_error(repo: Repo) -> None:
    result = a_pass(repo, "--store", "nope", "--format", "json")

    assert result.exit_code == 1
    assert json_document(result) == {
        "schema_version": "1",
        "kind": "usage_error",
        "message": UNKNOWN_STORE,
    }
    assert result.stderr == f"reconcile: {UNKNOWN_STORE}\n"


def test_an_unknown_store_to_let_past_the_guard_stops_an_import(repo: Repo) -> None:
    result = an_import(
        repo,
        "--dry-run",
        "--format",
        "json",
        "--allow-mass-change",
        "nope",
        batch="sku,quantity_available,vendor\nTEE-S,3,tees\n",
    )

    assert result.exit_code == 1
    assert json_document(result) == {
        "schema_version": "1",
        "kind": "usage_error",
        "message": f"--allow-mass-change: {UNKNOWN_STORE}",
    }


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "applied"])
def test_an_import_with_nothing_to_push_says_what_it_did(
    repo: Repo, dry_run: bool
) -> None:
    batch = "sku,quantity_available\nMUG-1,20\n"

    result = an_import(
        repo, "--dry-run" if dry_run else "--yes", "--format", "json", batch=batch
    )

    assert result.exit_code == 0, result.stderr
    assert json_document(result) == {
        "schema_version": "1",
        "kind": "import_summary",
        "file": str(repo.root / "batch.csv"),
        "dry_run": dry_run,
        "rows": 1,
        "hub_records_changed": 1,
        "hub_records_new": 1,
        "mastered": [{"sku": "MUG-1", "stores": ["magento-eu"]}],
        "pushed": False,
    }
    assert "nothing to push" in result.stderr
    if dry_run:
        assert repo.fingerprint() == {}
    else:
        assert repo.hub()["MUG-1"].quantity_available == 20


def test_a_refused_import_document_follows_the_schema(repo: Repo) -> None:
    result = an_import(
        repo, "--dry-run", "--format", "json", batch="sku,quantity_available\nA,x\n"
    )

    assert result.exit_code == 1
    assert json_document(result)["kind"] == "import_refused"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ("--state", "not-a-url"),
            f"### State store unusable\n\n- {NOT_A_URL}\n",
            id="state_error",
        ),
        pytest.param(
            ("--store", "nope"),
            "### Usage error\n\n- unknown store 'nope' (known: magento-eu, "
            "shopify-us)\n",
            id="usage_error",
        ),
    ],
)
def test_markdown_errors_are_a_heading_and_a_list(
    repo: Repo, args: tuple[str, ...], expected: str
) -> None:
    result = a_pass(repo, "--format", "markdown", *args)

    assert (result.exit_code, result.stdout) == (1, expected)


def test_markdown_config_problems_are_listed_with_their_place(repo: Repo) -> None:
    repo.write("config/stores/shopify-us.yaml", BAD_STORE)

    result = a_pass(repo, "--format", "markdown")

    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert lines[:2] == ["### Config invalid", ""]
    assert lines[2].startswith("Nothing was read or written: ")
    assert lines[4].startswith("- `stores/shopify-us.yaml:")


def test_markdown_import_summary(repo: Repo) -> None:
    result = an_import(
        repo,
        "--dry-run",
        "--format",
        "markdown",
        batch="sku,quantity_available\nMUG-1,20\n",
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"### Import `{repo.root / 'batch.csv'}`\n\n"
        "- rows: 1\n"
        "- hub records would change: 1 (1 new)\n"
        "- SKUs with a master store: MUG-1 (magento-eu)\n"
        "- pushed: nothing (no SKU of this batch has the hub as master)\n"
    )


def test_text_keeps_stdout_free_of_error_documents(repo: Repo) -> None:
    result = a_pass(repo, "--store", "nope")

    assert (result.exit_code, result.stdout) == (1, "")


def test_the_schema_is_closed_described_and_valid() -> None:
    schema = load_schema()
    undescribed = [
        f"{where}/{name}"
        for where, node in object_schemas(schema)
        for name, prop in node["properties"].items()
        if not prop.get("description")
    ]
    open_objects = [
        where
        for where, node in object_schemas(schema)
        if node.get("additionalProperties") is not False
    ]

    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "urn:reconciler:schema:errors:1"
    assert (undescribed, open_objects) == ([], [])

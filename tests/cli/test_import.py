"""``reconcile import``: a hub batch, journaled, pushed where the hub is master."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.config.model import StoreConfig
from reconciler.hub.records import HubRecord, JournalEntry, RunKind, RunStatus
from reconciler.report.jsonreport import load_schema
from reconciler.sandbox import registry
from reconciler.sandbox.base import EmulatorBase
from tests.cli import MAGENTO_STORE, Repo, make_repo, undated

AT = datetime(2026, 1, 2, tzinfo=UTC)
SOURCE = "import:batch.csv"
BATCH = """\
sku,quantity_available,manage_inventory,vendor
TEE-S,7,true,tees
TEE-M,3.0,true,tees
MUG-1,20,,
"""
DUPLICATE = "SKU 'TEE-S' is listed on lines 2, 5"
REFUSED = """\
sku;quantity_available;manage_inventory
TEE-S;7;true
TEE-M;2.5;true
MUG-1;;maybe
TEE-S;4;true
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(tmp_path)
    return make_repo(tmp_path)


def run(repo: Repo, *args: str, batch: str = BATCH) -> Result:
    path = repo.write("batch.csv", batch)
    return CliRunner().invoke(main, ["import", str(path), *repo.args(), *args])


def record(sku: str, quantity: int, vendor: str | None = "tees") -> HubRecord:
    return HubRecord(sku, vendor, True, quantity, AT, SOURCE)


def entry(run_id: int, sku: str, field: str, after: str) -> JournalEntry:
    return JournalEntry(
        run_id, SOURCE, sku, "hub", field, None, after, "applied", None, AT
    )


def test_batch_goes_to_the_hub_journaled_and_to_stores_where_the_hub_is_master(
    repo: Repo,
) -> None:
    started = datetime.now(UTC)

    result = run(repo, "--yes")

    assert result.exit_code == 0, result.stderr
    hub = repo.hub()
    assert {sku: undated(r, AT) for sku, r in hub.items()} == {
        "TEE-S": record("TEE-S", 7),
        "TEE-M": record("TEE-M", 3),
        "MUG-1": record("MUG-1", 20, vendor=None),
    }
    assert all(started <= r.changed_at <= datetime.now(UTC) for r in hub.values())
    push_run, import_run = repo.runs()  # newest first
    assert (import_run.kind, import_run.status) == (
        RunKind.IMPORT,
        RunStatus.SUCCEEDED,
    )
    assert (push_run.kind, push_run.summary["after_import_run"]) == (
        RunKind.PASS,
        import_run.id,
    )
    assert [replace(e, at=AT) for e in repo.journal(import_run.id)] == [
        entry(import_run.id, sku, field, after)
        for sku, quantity in (("TEE-S", "7"), ("TEE-M", "3"), ("MUG-1", "20"))
        for field, after in (
            ("quantity_available", quantity),
            ("manage_inventory", "true"),
        )
    ]
    assert repo.magento().stock() == {"TEE-S": 7, "TEE-M": 3, "MUG-1": 5}
    shop = repo.shopify()
    assert {sku: shop.quantity(sku) for sku in ("TEE-S", "TEE-M", "MUG-1")} == {
        "TEE-S": 7,
        "TEE-M": 3,
        "MUG-1": 5,
    }
    assert "1 SKU has a master store (magento-eu): MUG-1." in result.stdout


def seeded(repo: Repo) -> Repo:
    """The stores and hub as a first import left them: sandboxes on disk, a
    state file with runs, so that a later command has something to spoil."""
    first = run(repo, "--yes", batch="sku,quantity_available,vendor\nTEE-S,8,tees\n")
    assert first.exit_code == 0, first.stderr
    return repo


def test_dry_run_writes_nothing_and_plans_from_the_batch(repo: Repo) -> None:
    before = seeded(repo).fingerprint()

    result = run(repo, "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert repo.fingerprint() == before
    assert {sku: r.quantity_available for sku, r in repo.hub().items()} == {"TEE-S": 8}
    pushes = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert [line for line in pushes if "<- hub" in line] == [
        "magento-eu <- hub TEE-M quantity_available 10 -> 3 [update]",
        "magento-eu <- hub TEE-S quantity_available 8 -> 7 [update]",
        "shopify-us <- hub TEE-M quantity_available 1 -> 3 [update]",
        "shopify-us <- hub TEE-S quantity_available 8 -> 7 [update]",
    ]
    assert "would change 3 hub records (2 new)" in result.stdout


def test_refused_rows_are_all_listed_and_nothing_is_written(repo: Repo) -> None:
    before = seeded(repo).fingerprint()

    result = run(repo, "--yes", batch=REFUSED)

    path = repo.root / "batch.csv"
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}: line 2, column sku: SKU 'TEE-S' is listed on lines 2, 5",
        f"{path}: line 3, column quantity_available: fractional quantity 2.5: "
        "quantities are whole numbers",
        f"{path}: line 4, column quantity_available: empty quantity",
        f"{path}: line 4, column manage_inventory: 'maybe' is not a boolean "
        "(true/false, yes/no, 1/0)",
        f"{path}: line 5, column sku: SKU 'TEE-S' is listed on lines 2, 5",
        f"reconcile import: {path}: 5 refused rows; nothing was imported",
    ]
    assert repo.fingerprint() == before


KNOWN = "unknown vendor 'acme' (known vendors: tees)"
CASE = (
    "SKU 'TEE-S' is listed on lines 2, 3 as 'TEE-S', 'tee-s': magento-eu "
    "matches SKUs regardless of letter case"
)


@pytest.mark.parametrize(
    ("batch", "problems"),
    [
        pytest.param(
            'sku,"quantity_available\nTEE-S",7\n',
            [
                "line 1, column (column 2): column name 'quantity_available\\ntee-s' "
                "holds a control character (a quote left open in the header?)",
                "line 1, column 7: unknown column (known columns: sku, "
                "quantity_available, manage_inventory, vendor)",
                "line 1, column quantity_available: required column is missing",
            ],
            id="quoted-header-spanning-two-lines",
        ),
        pytest.param(
            "sku,quantity_available,vendor\nTEE-S,7,tees\nTEE-M,3,acme\n",
            [f"line 3, column vendor: {KNOWN}"],
            id="unknown-vendor",
        ),
        pytest.param(
            "sku,quantity_available\nTEE-S,7\ntee-s,3\n",
            [f"line 2, column sku: {CASE}", f"line 3, column sku: {CASE}"],
            id="case-insensitive-duplicate-on-a-magento-store",
        ),
        pytest.param(
            'sku,quantity_available\n=TEE-S,7\n"TEE\x00M",3\nMUG-1,\u0665\n',
            [
                "line 2, column sku: SKU '=TEE-S' starts with '=': a spreadsheet "
                "opening an export of it would run it as a formula",
                "line 3, column sku: SKU 'TEE\\x00M' holds the control character "
                "U+0000; SKUs are printable text",
                "line 4, column quantity_available: quantity '\u0665' is not "
                "written in ASCII digits 0-9",
            ],
            id="formula-control-character-arabic-digit",
        ),
    ],
)
def test_refused_batches_name_line_and_column_and_write_nothing(
    repo: Repo, batch: str, problems: list[str]
) -> None:
    before = seeded(repo).fingerprint()

    result = run(repo, "--yes", batch=batch)

    path = repo.root / "batch.csv"
    count = f"{len(problems)} refused row{'s' * (len(problems) != 1)}"
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        *(f"{path}: {problem}" for problem in problems),
        f"reconcile import: {path}: {count}; nothing was imported",
    ]
    assert repo.fingerprint() == before


def test_a_sku_the_hub_holds_in_another_case_is_refused(repo: Repo) -> None:
    before = seeded(repo).fingerprint()

    result = run(repo, "--yes", batch="sku,quantity_available\nTEE-M,3\ntee-s,7\n")

    path = repo.root / "batch.csv"
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}: line 3, column sku: SKU 'tee-s' is 'TEE-S' in the hub and "
        "magento-eu matches SKUs regardless of letter case; write it as the hub "
        "does",
        f"reconcile import: {path}: 1 refused row; nothing was imported",
    ]
    assert repo.fingerprint() == before


def test_case_variants_are_two_skus_without_a_case_insensitive_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    repo = make_repo(tmp_path, vendor=False)
    (repo.config / "stores" / "magento-eu.yaml").unlink()

    result = run(repo, "--dry-run", batch="sku,quantity_available\nTEE-S,7\ntee-s,3\n")

    assert result.exit_code == 0, result.stderr
    assert "would change 2 hub records (2 new)" in result.stdout


def test_a_refused_batch_in_json_is_an_error_object_on_stdout(repo: Repo) -> None:
    before = seeded(repo).fingerprint()

    result = run(repo, "--yes", "--format", "json", batch=REFUSED)

    path = str(repo.root / "batch.csv")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "schema_version": "1",
        "kind": "import_refused",
        "file": path,
        "problems": [
            {"line": 2, "column": "sku", "message": DUPLICATE},
            {
                "line": 3,
                "column": "quantity_available",
                "message": "fractional quantity 2.5: quantities are whole numbers",
            },
            {"line": 4, "column": "quantity_available", "message": "empty quantity"},
            {
                "line": 4,
                "column": "manage_inventory",
                "message": "'maybe' is not a boolean (true/false, yes/no, 1/0)",
            },
            {"line": 5, "column": "sku", "message": DUPLICATE},
        ],
    }
    assert result.stderr.splitlines()[-1] == (
        f"reconcile import: {path}: 5 refused rows; nothing was imported"
    )
    assert len(result.stderr.splitlines()) == 6
    assert repo.fingerprint() == before


def test_a_refused_batch_in_markdown_is_a_table_on_stdout(repo: Repo) -> None:
    batch = "sku,quantity_available,vendor\nTEE-S,7,a|b\n"

    result = run(repo, "--yes", "--format", "markdown", batch=batch)

    path = repo.root / "batch.csv"
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"### Import refused: `{path}`",
        "",
        f"Nothing was imported: {path}: 1 refused row.",
        "",
        "| line | column | problem |",
        "| --- | --- | --- |",
        "| 2 | vendor | unknown vendor 'a\\|b' (known vendors: tees) |",
    ]
    assert repo.fingerprint() == {}


def test_a_vendor_change_that_moves_the_master_store_is_warned(repo: Repo) -> None:
    seeded(repo).write("config/vendors/hoodies.yaml", "vendor: hoodies\n")
    batch = "sku,quantity_available,vendor\nTEE-S,8,hoodies\nTEE-M,3,tees\n"

    result = run(repo, "--dry-run", batch=batch)

    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if "warning" in line]
    assert warnings == [
        "warning: TEE-S moves from vendor tees to hoodies, so its master store "
        "changes: none (the hub) -> magento-eu"
    ]


@pytest.mark.parametrize(
    ("store_text", "message"),
    [
        pytest.param(
            "store: magento-eu\nchannel: {type: magento}\n",
            "magento-eu.yaml",
            id="store-without-required-keys",
        ),
        pytest.param(
            MAGENTO_STORE.format(max_zeroed="5%", max_changed="50%").replace(
                "channel_to_hub", "sideways"
            ),
            "sideways",
            id="unknown-direction",
        ),
    ],
)
def test_invalid_config_writes_nothing(
    repo: Repo, store_text: str, message: str
) -> None:
    before = seeded(repo).fingerprint()
    repo.write("config/stores/magento-eu.yaml", store_text)

    result = run(repo, "--yes")

    assert result.exit_code == 1
    assert message in result.stderr
    assert "reconcile import: config invalid" in result.stderr
    assert repo.fingerprint() == before


def test_missing_file_is_named(repo: Repo) -> None:
    missing = repo.root / "nowhere.csv"

    result = CliRunner().invoke(main, ["import", str(missing), *repo.args(), "--yes"])

    assert result.exit_code == 1
    assert result.stderr == f"reconcile import: {missing}: no such file\n"
    assert repo.fingerprint() == {}


def test_without_a_terminal_it_needs_yes(repo: Repo) -> None:
    before = seeded(repo).fingerprint()

    result = run(repo)

    assert result.exit_code == 1
    assert "pass --yes to import without a terminal" in result.stderr
    assert repo.fingerprint() == before


def test_json_output_is_the_plan_document(repo: Repo) -> None:
    result = run(repo, "--dry-run", "--format", "json")

    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    assert result.exit_code == 0, result.stderr
    assert document["summary"]["pushes"] == 4
    assert "1 SKU has a master store (magento-eu): MUG-1." in result.stderr
    assert not (repo.state_dir / "state.db").exists()


def test_a_batch_of_store_mastered_skus_is_not_pushed(repo: Repo) -> None:
    before = seeded(repo).fingerprint()

    result = run(repo, "--yes", batch="sku,quantity_available\nMUG-1,20\n")

    assert result.exit_code == 0, result.stderr
    run_id = repo.runs()[0].id
    assert result.stdout.splitlines()[-3:] == [
        "1 SKU has a master store (magento-eu): MUG-1. The hub takes the "
        "batch's values now; the next pass replaces them with the store's.",
        f"Imported into the hub as run {run_id}: 1 hub record changed.",
        "No SKU of this batch has the hub as master; nothing to push.",
    ]
    assert repo.hub()["MUG-1"].quantity_available == 20
    after = repo.fingerprint()
    assert after["state.db"] != before["state.db"]
    assert {k: v for k, v in after.items() if k != "state.db"} == {
        k: v for k, v in before.items() if k != "state.db"
    }


def test_a_real_process_imports_the_batch(repo: Repo) -> None:
    path = repo.write("batch.csv", BATCH)

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reconciler",
            "import",
            str(path),
            *repo.args(),
            "--yes",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=repo.root,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert {sku: r.quantity_available for sku, r in repo.hub().items()} == {
        "TEE-S": 7,
        "TEE-M": 3,
        "MUG-1": 20,
    }
    assert repo.shopify().quantity("TEE-M") == 3


def tees_batch(quantities: dict[str, int]) -> str:
    rows = [f"{sku},{quantity},tees" for sku, quantity in quantities.items()]
    return "\n".join(["sku,quantity_available,vendor", *rows]) + "\n"


HUNDRED = {f"TEE-{n:03}": 10 for n in range(100)}


@pytest.fixture
def hundred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """100 tees at 10 on both stores and in the hub (a first import)."""
    monkeypatch.chdir(tmp_path)
    repo = make_repo(tmp_path, dict.fromkeys(HUNDRED, (10, 10)))
    first = run(repo, "--yes", batch=tees_batch(HUNDRED))
    assert first.exit_code == 0, first.stderr
    return repo


def test_guard_weighs_a_batch_against_the_whole_store(hundred: Repo) -> None:
    batch = dict(list(HUNDRED.items())[:30])

    result = run(hundred, "--yes", batch=tees_batch(dict.fromkeys(batch, 4)))

    assert result.exit_code == 0, result.stdout + result.stderr
    expected = {sku: 4 if sku in batch else 10 for sku in HUNDRED}
    assert hundred.magento().stock() == expected
    shop = hundred.shopify()
    assert {sku: shop.quantity(sku) for sku in HUNDRED} == expected


ZEROED_LINE = {"magento-eu": 12, "shopify-us": 13}
"""The line of ``max_zeroed`` in each store's file (tests/cli/__init__.py)."""


def guard_line(store: str) -> str:
    where = f"stores/{store}.yaml:{ZEROED_LINE[store]}"
    return (
        f"  guard tripped, nothing applied: plan zeroes 40 of 100 managed SKUs "
        f"(40.0%) on {store}; guard.max_zeroed is 5% in {where}; "
        f"raise it, or pass --allow-mass-change {store} to one run"
    )


def guard_refusal(*stores: str) -> str:
    trips = " and of ".join(
        f"{store} (zeroes 40 and changes 40 of 100 managed SKUs; "
        f"guard.max_zeroed 5% (stores/{store}.yaml:{ZEROED_LINE[store]}), "
        f"guard.max_changed 50% (stores/{store}.yaml:{ZEROED_LINE[store] + 1}))"
        for store in stores
    )
    flags = " ".join(f"--allow-mass-change {store}" for store in stores)
    return (
        f"reconcile import: nothing was imported: the push would trip the guard "
        f"of {trips}; pass {flags} to import anyway"
    )


def test_a_batch_tripping_a_guard_is_refused_whole_and_writes_nothing(
    hundred: Repo,
) -> None:
    before = hundred.fingerprint()
    zeroed = dict.fromkeys(list(HUNDRED)[:40], 0)

    result = run(hundred, "--yes", batch=tees_batch(zeroed))

    assert result.exit_code == 1
    tripped = [line for line in result.stdout.splitlines() if "guard tripped" in line]
    assert tripped == [guard_line("magento-eu"), guard_line("shopify-us")]
    assert result.stderr.splitlines()[-1] == guard_refusal("magento-eu", "shopify-us")
    assert hundred.fingerprint() == before
    assert {sku: r.quantity_available for sku, r in hundred.hub().items()} == HUNDRED


def test_allow_mass_change_for_one_store_still_refuses_for_the_other(
    hundred: Repo,
) -> None:
    before = hundred.fingerprint()
    zeroed = dict.fromkeys(list(HUNDRED)[:40], 0)

    result = run(
        hundred,
        "--yes",
        "--allow-mass-change",
        "magento-eu",
        batch=tees_batch(zeroed),
    )

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == guard_refusal("shopify-us")
    assert hundred.fingerprint() == before


def test_allow_mass_change_for_every_tripped_store_imports_and_pushes(
    hundred: Repo,
) -> None:
    zeroed = dict.fromkeys(list(HUNDRED)[:40], 0)

    result = run(
        hundred,
        "--yes",
        "--allow-mass-change",
        "magento-eu",
        "--allow-mass-change",
        "shopify-us",
        batch=tees_batch(zeroed),
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    expected = HUNDRED | zeroed
    assert {sku: r.quantity_available for sku, r in hundred.hub().items()} == expected
    assert hundred.magento().stock() == expected
    shop = hundred.shopify()
    assert {sku: shop.quantity(sku) for sku in HUNDRED} == expected


def test_a_dry_run_tripping_a_guard_says_the_import_would_be_refused(
    hundred: Repo,
) -> None:
    before = hundred.fingerprint()
    zeroed = dict.fromkeys(list(HUNDRED)[:40], 0)

    result = run(hundred, "--dry-run", "--format", "json", batch=tees_batch(zeroed))

    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["summary"]["guards_tripped"] == 2
    assert result.stderr.splitlines()[-1] == guard_refusal(
        "magento-eu", "shopify-us"
    ).replace("nothing was imported", "the import would be refused")
    assert hundred.fingerprint() == before


def test_a_push_that_fails_says_the_hub_kept_the_batch(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded(repo)
    opened = registry.open_store_emulator

    def shopify_refusing(store: StoreConfig, **where: Path) -> EmulatorBase:
        emulator = opened(store, **where)
        if store.name == "shopify-us":
            emulator.faults.refusals["TEE-S"] = ("LOCKED", "TEE-S is locked")
        return emulator

    monkeypatch.setattr(registry, "open_store_emulator", shopify_refusing)

    result = run(repo, "--yes")

    assert result.exit_code == 1
    assert "TEE-S is locked" in result.stdout
    assert repo.hub()["TEE-S"].quantity_available == 7
    assert (
        "reconcile import: the hub keeps the batch's records; the push of 2 SKUs "
        "did not finish everywhere (see above), and the next pass pushes what is "
        "left\n"
    ) in result.stderr


def test_many_refused_rows_are_listed_up_to_fifty_then_counted(repo: Repo) -> None:
    rows = "".join(f"SKU-{n:03d},5,nosuch\n" for n in range(60))
    batch = f"sku,quantity_available,vendor\n{rows}SKU-X,lots,tees\n"

    result = run(repo, "--yes", batch=batch)
    document = run(repo, "--dry-run", "--format", "json", batch=batch)

    listed = [line for line in result.stderr.splitlines() if ": line " in line]
    assert result.exit_code == 1
    assert len(listed) == 50
    assert (
        "batch.csv: ... and 11 more refused rows (10 unknown vendor …, 1 quantity … "
        "is not a number); `--format json` lists every one\n"
    ) in result.stderr
    assert len(json.loads(document.stdout)["problems"]) == 61
    assert repo.hub() == {}

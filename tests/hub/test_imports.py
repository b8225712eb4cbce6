"""Import batches: every acceptance and refusal rule, and what reaches the hub."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reconciler.errors import ImportRefused, RowProblem
from reconciler.hub.imports import (
    ImportBatch,
    ImportRow,
    apply_import,
    check_against_hub,
    parse_import,
)
from reconciler.hub.records import HubRecord
from reconciler.hub.state import SqlStateStore
from tests.conftest import require_shared
from tests.hub.conftest import START

HEADER = "sku,quantity_available\n"


def write(folder: Path, content: str | bytes) -> Path:
    path = folder / "stock.csv"
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(data)
    return path


def row(
    line: int,
    sku: str,
    quantity: int,
    managed: bool | None = None,
    vendor: str | None = None,
) -> ImportRow:
    return ImportRow(line, sku, quantity, managed, vendor)


ACCEPTED = [
    pytest.param(
        HEADER + "A-1,5\nA-2,0\n",
        [row(2, "A-1", 5), row(3, "A-2", 0)],
        id="comma",
    ),
    pytest.param(
        "sku;quantity_available;vendor\nA-1;5;acme\n",
        [row(2, "A-1", 5, vendor="acme")],
        id="semicolon-detected-from-header",
    ),
    pytest.param(
        "\ufeff" + HEADER + "A-1,5\n",
        [row(2, "A-1", 5)],
        id="utf8-with-bom",
    ),
    pytest.param(
        HEADER + "A-1,5.0\nA-2,7.00\nA-3,+2\n",
        [row(2, "A-1", 5), row(3, "A-2", 7), row(4, "A-3", 2)],
        id="whole-numbers-written-with-decimals",
    ),
    pytest.param(
        HEADER + "A-1,-4\n",
        [row(2, "A-1", -4)],
        id="negative-quantity-is-oversold",
    ),
    pytest.param(
        "sku,quantity_available,manage_inventory\n"
        "A-1,1,TRUE\nA-2,1,no\nA-3,1,1\nA-4,1,0\nA-5,1,Yes\nA-6,1,false\nA-7,1,\n",
        [
            row(2, "A-1", 1, True),
            row(3, "A-2", 1, False),
            row(4, "A-3", 1, True),
            row(5, "A-4", 1, False),
            row(6, "A-5", 1, True),
            row(7, "A-6", 1, False),
            row(8, "A-7", 1, None),
        ],
        id="booleans-any-case-and-empty-keeps-hub",
    ),
    pytest.param(
        " Vendor , QUANTITY_AVAILABLE,Sku\r\n acme , 3 , A-1 \r\n,4,A-2\r\n",
        [row(2, "A-1", 3, vendor="acme"), row(3, "A-2", 4)],
        id="header-case-spaces-order-crlf",
    ),
    pytest.param(
        HEADER + "\nA-1,5\n\n\nA-2,6\n\n",
        [row(3, "A-1", 5), row(6, "A-2", 6)],
        id="blank-lines-skipped-physical-lines-kept",
    ),
    pytest.param(
        'sku,quantity_available,vendor\n"A,1",2,"Acme; Sons\nLtd"\nA-2,3,\n',
        [row(2, "A,1", 2, vendor="Acme; Sons\nLtd"), row(4, "A-2", 3)],
        id="quoted-fields-spanning-lines",
    ),
    pytest.param(HEADER, [], id="header-only"),
    pytest.param(
        HEADER + "'00123,5\n' A-9 ,1\nB'1,2\n",
        [row(2, "00123", 5), row(3, "A-9", 1), row(4, "B'1", 2)],
        id="excel-apostrophe-dropped-like-the-emulators",
    ),
    pytest.param(
        HEADER + "MS01-XS-Black,1\nms01-xs-black,2\n",
        [row(2, "MS01-XS-Black", 1), row(3, "ms01-xs-black", 2)],
        id="case-variants-are-two-skus-without-a-case-insensitive-store",
    ),
    pytest.param(
        HEADER + "+A-1,1\n-A-2,2\nA=3,3\n",
        [row(2, "+A-1", 1), row(3, "-A-2", 2), row(4, "A=3", 3)],
        id="sign-and-inner-equals-are-not-formulas",
    ),
]


@pytest.mark.parametrize(("content", "rows"), ACCEPTED)
def test_accepted_files(tmp_path: Path, content: str, rows: list[ImportRow]) -> None:
    path = write(tmp_path, content)

    assert parse_import(path) == ImportBatch(path, tuple(rows))


QTY = "quantity_available"
CASE_DUPLICATE = (
    "SKU 'MS01-XS-Black' is listed on lines 2, 4, 5 as 'MS01-XS-Black', "
    "'ms01-xs-black', 'MS01-xs-BLACK': magento-eu matches SKUs regardless of "
    "letter case"
)


def control(sku: str, code: str) -> str:
    """The refusal of a SKU holding a control character (``sku`` as repr'd)."""
    return f"SKU '{sku}' holds the control character U+{code}; SKUs are printable text"


def formula(sku: str, start: str) -> str:
    return (
        f"SKU {sku!r} starts with {start!r}: a spreadsheet opening an export "
        "of it would run it as a formula"
    )


REFUSED = [
    pytest.param(
        HEADER + "A-1,2.5\n",
        [RowProblem(2, QTY, "fractional quantity 2.5: quantities are whole numbers")],
        id="fractional",
    ),
    pytest.param(
        HEADER + "A-1,\nA-2,  \n",
        [RowProblem(2, QTY, "empty quantity"), RowProblem(3, QTY, "empty quantity")],
        id="empty-quantity",
    ),
    pytest.param(
        HEADER + 'A-1,ten\nA-2,1e3\nA-3,"1,000"\n',
        [
            RowProblem(2, QTY, "quantity 'ten' is not a number"),
            RowProblem(3, QTY, "quantity '1e3' is not a number"),
            RowProblem(4, QTY, "quantity '1,000' is not a number"),
        ],
        id="non-numeric",
    ),
    pytest.param(
        HEADER + "A-1,2147483648\n",
        [RowProblem(2, QTY, "quantity 2147483648 is out of range")],
        id="out-of-range",
    ),
    pytest.param(
        HEADER + " ,4\n",
        [RowProblem(2, "sku", "empty SKU")],
        id="empty-sku",
    ),
    pytest.param(
        "sku,quantity_available,manage_inventory\nA-1,1,y\nA-2,1,on\n",
        [
            RowProblem(
                2, "manage_inventory", "'y' is not a boolean (true/false, yes/no, 1/0)"
            ),
            RowProblem(
                3, "manage_inventory", "'on' is not a boolean (true/false, yes/no, 1/0)"
            ),
        ],
        id="not-a-boolean",
    ),
    pytest.param(
        HEADER + "A-1,1\nB-2,2\nA-1,3\n",
        [
            RowProblem(2, "sku", "SKU 'A-1' is listed on lines 2, 4"),
            RowProblem(4, "sku", "SKU 'A-1' is listed on lines 2, 4"),
        ],
        id="duplicate-sku-both-rows",
    ),
    pytest.param(
        "quantity_available,vendor\n5,acme\n",
        [RowProblem(1, "sku", "required column is missing")],
        id="missing-sku-column",
    ),
    pytest.param(
        "sku;qty\nA-1;5\n",
        [
            RowProblem(
                1,
                "qty",
                "unknown column (known columns: "
                "sku, quantity_available, manage_inventory, vendor)",
            ),
            RowProblem(1, "quantity_available", "required column is missing"),
        ],
        id="unknown-column-and-missing-quantity",
    ),
    pytest.param(
        "sku,quantity_available,sku,\nA-1,5,A-1,\n",
        [
            RowProblem(1, "(column 4)", "column without a name"),
            RowProblem(1, "sku", "column appears twice in the header"),
        ],
        id="header-duplicate-and-nameless",
    ),
    pytest.param(
        HEADER + "A-1,5,extra\nA-2\n",
        [
            RowProblem(2, "(row)", "3 fields, but the header has 2"),
            RowProblem(3, "(row)", "1 fields, but the header has 2"),
        ],
        id="wrong-field-count",
    ),
    pytest.param(
        (HEADER + "A-1,5\nCaf\xe9,2\n").encode("latin-1"),
        [RowProblem(3, "(encoding)", "not UTF-8: byte 0xe9; save the file as UTF-8")],
        id="not-utf8-names-the-line",
    ),
    pytest.param(
        "",
        [RowProblem(1, "(header)", "no header line: the file is empty")],
        id="empty-file",
    ),
    pytest.param(
        HEADER + 'A-1,5\n"A-2,6\nA-3,7\n',
        [RowProblem(3, "(row)", "unreadable CSV: unexpected end of data")],
        id="unclosed-quote",
    ),
    pytest.param(
        HEADER + "A-1,5\n\nA-2,x\n" + '"B-\n1",2.2\nA-1,1\n',
        [
            RowProblem(2, "sku", "SKU 'A-1' is listed on lines 2, 7"),
            RowProblem(4, QTY, "quantity 'x' is not a number"),
            RowProblem(5, "sku", control("B-\\n1", "000A")),
            RowProblem(5, QTY, "fractional quantity 2.2: quantities are whole numbers"),
            RowProblem(7, "sku", "SKU 'A-1' is listed on lines 2, 7"),
        ],
        id="every-problem-listed-by-physical-line",
    ),
    pytest.param(
        'sku,"quantity_available\nMS01-XS-Black",7\nA-1,5,1\n',
        [
            RowProblem(
                1,
                "(column 2)",
                "column name 'quantity_available\\nms01-xs-black' holds a control "
                "character (a quote left open in the header?)",
            ),
            RowProblem(
                1,
                "7",
                "unknown column (known columns: "
                "sku, quantity_available, manage_inventory, vendor)",
            ),
            RowProblem(1, QTY, "required column is missing"),
        ],
        id="quoted-header-spanning-two-lines",
    ),
    pytest.param(
        'sku,"quantity_available\nA-1,5\n',
        [RowProblem(1, "(header)", "unreadable CSV: unexpected end of data")],
        id="header-with-unclosed-quote",
    ),
    pytest.param(
        HEADER + "A\x001,5\nA\t2,5\n" + '"A\n3",5\n' + "A\x7f4,5\nA\x855,5\n",
        [
            RowProblem(2, "sku", control("A\\x001", "0000")),
            RowProblem(3, "sku", control("A\\t2", "0009")),
            RowProblem(4, "sku", control("A\\n3", "000A")),
            RowProblem(6, "sku", control("A\\x7f4", "007F")),
            RowProblem(7, "sku", control("A\\x855", "0085")),
        ],
        id="sku-control-characters-nul-tab-newline-del-c1",
    ),
    pytest.param(
        HEADER + "A-1\t,5\n",
        [RowProblem(2, "sku", control("A-1", "0009"))],
        id="trailing-tab-is-not-a-space",
    ),
    pytest.param(
        HEADER + '"=HYPERLINK(""http://x"")",5\n@SUM(A1),5\n\'=1+1,5\n',
        [
            RowProblem(2, "sku", formula('=HYPERLINK("http://x")', "=")),
            RowProblem(3, "sku", formula("@SUM(A1)", "@")),
            RowProblem(4, "sku", formula("=1+1", "=")),
        ],
        id="sku-formula-injection-apostrophe-or-not",
    ),
    pytest.param(
        HEADER + "A-1,\u0665\nA-2,\uff17\nA-3,1\u0660.0\n",
        [
            RowProblem(2, QTY, "quantity '\u0665' is not written in ASCII digits 0-9"),
            RowProblem(3, QTY, "quantity '\uff17' is not written in ASCII digits 0-9"),
            RowProblem(
                4, QTY, "quantity '1\u0660.0' is not written in ASCII digits 0-9"
            ),
        ],
        id="quantity-non-ascii-digits",
    ),
    pytest.param(
        HEADER + "'A-1,1\nA-1,2\n",
        [
            RowProblem(2, "sku", "SKU 'A-1' is listed on lines 2, 3"),
            RowProblem(3, "sku", "SKU 'A-1' is listed on lines 2, 3"),
        ],
        id="apostrophe-stripped-before-duplicate-check",
    ),
]


@pytest.mark.parametrize(("content", "problems"), REFUSED)
def test_refused_files(
    tmp_path: Path, content: str | bytes, problems: list[RowProblem]
) -> None:
    path = write(tmp_path, content)

    with pytest.raises(ImportRefused) as refused:
        parse_import(path)

    assert refused.value.path == str(path)
    assert list(refused.value.problems) == problems


MAGENTO = ("magento-eu",)
VENDORS = ("hoodies", "tees")

CONFIGURED = [
    pytest.param(
        "sku,quantity_available,vendor\nA-1,1,tees\nA-2,2,Tees\nA-3,3,acme\nA-4,4,\n",
        {"vendors": VENDORS},
        [
            RowProblem(
                3, "vendor", "unknown vendor 'Tees' (known vendors: hoodies, tees)"
            ),
            RowProblem(
                4, "vendor", "unknown vendor 'acme' (known vendors: hoodies, tees)"
            ),
        ],
        id="unknown-vendor-names-the-known-ones",
    ),
    pytest.param(
        "sku,quantity_available,vendor\nA-1,1,tees\n",
        {"vendors": ()},
        [
            RowProblem(
                2, "vendor", "unknown vendor 'tees' (known vendors: none configured)"
            )
        ],
        id="no-vendor-configured",
    ),
    pytest.param(
        HEADER + "MS01-XS-Black,1\nB-1,1\nms01-xs-black,2\nMS01-xs-BLACK,3\n",
        {"case_insensitive": MAGENTO},
        [
            RowProblem(2, "sku", CASE_DUPLICATE),
            RowProblem(4, "sku", CASE_DUPLICATE),
            RowProblem(5, "sku", CASE_DUPLICATE),
        ],
        id="case-variants-are-one-sku-on-a-case-insensitive-store",
    ),
    pytest.param(
        HEADER + "A-1,1\nA-1,2\n",
        {"case_insensitive": ("magento-eu", "magento-us")},
        [
            RowProblem(2, "sku", "SKU 'A-1' is listed on lines 2, 3"),
            RowProblem(3, "sku", "SKU 'A-1' is listed on lines 2, 3"),
        ],
        id="same-case-duplicate-keeps-its-message",
    ),
]


@pytest.mark.parametrize(("content", "options", "problems"), CONFIGURED)
def test_refused_against_the_config(
    tmp_path: Path,
    content: str,
    options: dict[str, tuple[str, ...]],
    problems: list[RowProblem],
) -> None:
    path = write(tmp_path, content)

    with pytest.raises(ImportRefused) as refused:
        parse_import(path, **options)

    assert list(refused.value.problems) == problems


def test_known_vendors_and_distinct_skus_pass_the_config_checks(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "sku,quantity_available,vendor\nA-1,1,tees\na-2,2,\n")

    batch = parse_import(path, vendors=VENDORS, case_insensitive=MAGENTO)

    assert batch == ImportBatch(
        path, (row(2, "A-1", 1, vendor="tees"), row(3, "a-2", 2))
    )


HUB_SKUS = ["MS01-XS-Black", "B-1"]


@pytest.mark.parametrize(
    ("content", "stores", "problems"),
    [
        pytest.param(
            HEADER + "B-1,1\nms01-xs-black,2\nb-2,3\n",
            MAGENTO,
            [
                RowProblem(
                    3,
                    "sku",
                    "SKU 'ms01-xs-black' is 'MS01-XS-Black' in the hub and "
                    "magento-eu matches SKUs regardless of letter case; write it "
                    "as the hub does",
                )
            ],
            id="new-sku-in-another-case-than-the-hub",
        ),
        pytest.param(
            HEADER + "MS01-XS-Black,1\nB-1,2\n",
            MAGENTO,
            [],
            id="same-case-as-the-hub",
        ),
        pytest.param(
            HEADER + "ms01-xs-black,2\n",
            (),
            [],
            id="no-case-insensitive-store",
        ),
    ],
)
def test_batch_against_the_hub_skus(
    tmp_path: Path, content: str, stores: tuple[str, ...], problems: list[RowProblem]
) -> None:
    batch = parse_import(write(tmp_path, content), case_insensitive=stores)

    assert hub_problems(batch, stores) == problems


def hub_problems(batch: ImportBatch, stores: tuple[str, ...]) -> list[RowProblem]:
    """What ``check_against_hub`` refuses in ``batch`` (nothing: an empty list)."""
    try:
        check_against_hub(batch, HUB_SKUS, stores)
    except ImportRefused as refused:
        return list(refused.problems)
    return []


def test_a_refused_file_writes_nothing(store: SqlStateStore, tmp_path: Path) -> None:
    before = [HubRecord("A-1", "acme", True, 9, START, "import:old.csv")]
    store.put_hub_records(before)
    path = write(tmp_path, HEADER + "A-1,1\nA-2,2\nA-3,2.5\n")

    with pytest.raises(ImportRefused):
        apply_import(store, parse_import(path), source="import:stock.csv")

    assert store.hub_records() == {"A-1": before[0]}


def test_apply_writes_every_row_keeping_unset_cells(
    store: SqlStateStore, tmp_path: Path
) -> None:
    store.put_hub_records(
        [HubRecord("A-1", "acme", False, 9, START, "store:magento-eu")]
    )
    path = write(
        tmp_path,
        "sku,quantity_available,manage_inventory,vendor\n"
        "A-2,4,,\nA-1,-2,,\nA-3,0,false,globex\n",
    )

    written = apply_import(
        store, parse_import(path), source="import:stock.csv", now=START
    )

    expected = [
        HubRecord("A-2", None, True, 4, START, "import:stock.csv"),
        HubRecord("A-1", "acme", False, -2, START, "import:stock.csv"),
        HubRecord("A-3", "globex", False, 0, START, "import:stock.csv"),
    ]
    assert written == expected
    assert store.hub_records() == {record.sku: record for record in expected}


def test_the_sample_catalog_imports_whole(store: SqlStateStore, tmp_path: Path) -> None:
    catalog = require_shared("data/magento-sample-products.csv")
    with catalog.open(encoding="utf-8-sig", newline="") as source:
        stock = {p["sku"]: int(p["qty"]) for p in csv.DictReader(source)}
    path = tmp_path / "stock.csv"
    with path.open("w", encoding="utf-8", newline="") as target:
        writer = csv.writer(target, delimiter=";")
        writer.writerow(["sku", "quantity_available"])
        writer.writerows(stock.items())

    written = apply_import(store, parse_import(path), source="import:stock.csv")

    hub = store.hub_records()
    assert len(written) == len(stock) == 1_994
    assert {sku: r.quantity_available for sku, r in hub.items()} == stock

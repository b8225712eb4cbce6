"""Import batches: a CSV of hub records, checked whole before anything is written.

The file
--------

- UTF-8, with or without a byte order mark; any other encoding is refused,
  naming the first line that is not UTF-8.
- The delimiter is ``,`` or ``;``, whichever the header line holds more of
  (a tie, including none, means ``,``).
- Columns, named in the header (surrounding spaces and letter case ignored):
  ``sku`` and ``quantity_available`` are required; ``manage_inventory`` and
  ``vendor`` are optional. Any other column is refused, so that a typo such as
  ``manage_invetory`` cannot silently drop a setting.
- ``quantity_available`` is a whole number, written ``5`` or ``5.0``. Negative
  quantities are accepted: a store can be oversold, and the hub records it.
  Fractional, empty, non-numeric and out-of-range (beyond 32 bits) values
  are refused.
- ``manage_inventory`` is ``true``/``false``, ``yes``/``no`` or ``1``/``0``,
  in any letter case. The file is data, not YAML: nothing else is a boolean.
  An empty cell (or no such column) keeps the hub's current value; a SKU new
  to the hub is then managed.
- ``vendor``: an empty cell (or no such column) keeps the hub's current vendor.
- Values are stripped of surrounding spaces; blank lines are skipped.
- A SKU listed twice is refused on every line it appears on: which of the two
  figures is right cannot be told.

Any refused row refuses the whole file with ``ImportRefused`` listing every
problem by physical line number (1 is the header), and nothing is written.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from reconciler.errors import ImportRefused, RowProblem
from reconciler.hub.records import HubRecord, StateStore

REQUIRED = ("sku", "quantity_available")
OPTIONAL = ("manage_inventory", "vendor")
BOOLEANS = {
    "true": True,
    "yes": True,
    "1": True,
    "false": False,
    "no": False,
    "0": False,
}
_WHOLE = re.compile(r"[+-]?\d+(?:\.0+)?")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_LIMIT = 2**31 - 1  # the hub's quantity column is a 32-bit integer

# Problems about the file as a whole name a pseudo-column in parentheses.
HEADER = "(header)"
ENCODING = "(encoding)"
ROW = "(row)"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One accepted row; None means "keep the hub's current value"."""

    line: int
    sku: str
    quantity_available: int
    manage_inventory: bool | None
    vendor: str | None


@dataclass(frozen=True, slots=True)
class ImportBatch:
    path: Path
    rows: tuple[ImportRow, ...]

    @property
    def skus(self) -> list[str]:
        return [row.sku for row in self.rows]


# --- parsing -----------------------------------------------------------------


def parse_import(path: Path) -> ImportBatch:
    """Read and check an import file; raise ``ImportRefused`` on any problem."""
    text = _decode(path, path.read_bytes())
    lines = io.StringIO(text, newline="")
    header_line = lines.readline()
    delimiter = _delimiter(header_line)
    columns = _columns(path, header_line, delimiter)

    rows, problems = _rows(lines, delimiter, columns)
    problems.extend(_duplicates(rows))
    if problems:
        _refuse(path, problems)

    log.info("event=import.parsed path=%s rows=%d", path, len(rows))
    return ImportBatch(path=path, rows=tuple(rows))


def _refuse(path: Path, problems: Sequence[RowProblem]) -> NoReturn:
    ordered = sorted(problems, key=lambda p: p.line)
    log.error("event=import.refused path=%s problems=%d", path, len(ordered))
    raise ImportRefused(str(path), ordered)


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        byte = data[error.start]
        message = f"not UTF-8: byte 0x{byte:02x}; save the file as UTF-8"
        _refuse(path, [RowProblem(line, ENCODING, message)])


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _columns(path: Path, header_line: str, delimiter: str) -> list[str]:
    """The header's column names, or refuse the file over its header."""
    if not header_line.strip():
        _refuse(path, [RowProblem(1, HEADER, "no header line: the file is empty")])

    names = [
        name.strip().lower()
        for name in next(csv.reader([header_line], delimiter=delimiter))
    ]
    problems = [
        RowProblem(1, name or f"(column {index})", _header_problem(name))
        for index, name in enumerate(names, start=1)
        if name not in REQUIRED + OPTIONAL
    ]
    problems += [
        RowProblem(1, name, "column appears twice in the header")
        for name in sorted({n for n in names if n and names.count(n) > 1})
    ]
    problems += [
        RowProblem(1, name, "required column is missing")
        for name in REQUIRED
        if name not in names
    ]
    if problems:
        _refuse(path, problems)
    return names


def _header_problem(name: str) -> str:
    if not name:
        return "column without a name"
    known = ", ".join(REQUIRED + OPTIONAL)
    return f"unknown column (known columns: {known})"


class _Unreadable(Exception):
    """A record the csv module cannot parse (a stray or unclosed quote)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


def _records(lines: io.StringIO, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the physical line each starts on (the header is 1)."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    start = 2
    try:
        for fields in reader:
            yield start, fields
            start = reader.line_num + 2
    except csv.Error as error:
        raise _Unreadable(start, str(error)) from error


def _rows(
    lines: io.StringIO, delimiter: str, columns: list[str]
) -> tuple[list[ImportRow], list[RowProblem]]:
    rows: list[ImportRow] = []
    problems: list[RowProblem] = []
    try:
        for line, fields in _records(lines, delimiter):
            if not any(field.strip() for field in fields):
                continue
            row, found = _row(
                line, dict(zip(columns, fields, strict=False)), fields, columns
            )
            problems.extend(found)
            if row is not None:
                rows.append(row)
    except _Unreadable as error:
        problems.append(RowProblem(error.line, ROW, f"unreadable CSV: {error}"))
    return rows, problems


def _row(
    line: int, cells: dict[str, str], fields: list[str], columns: list[str]
) -> tuple[ImportRow | None, list[RowProblem]]:
    if len(fields) != len(columns):
        count = f"{len(fields)} fields, but the header has {len(columns)}"
        return None, [RowProblem(line, ROW, count)]

    problems: list[RowProblem] = []
    sku = cells["sku"].strip()
    if not sku:
        problems.append(RowProblem(line, "sku", "empty SKU"))
    quantity = _quantity(line, cells["quantity_available"], problems)
    managed = _managed(line, cells.get("manage_inventory", ""), problems)
    vendor = cells.get("vendor", "").strip() or None

    if problems or quantity is None:
        return None, problems
    return ImportRow(line, sku, quantity, managed, vendor), []


def _quantity(line: int, cell: str, problems: list[RowProblem]) -> int | None:
    text = cell.strip()
    column = "quantity_available"
    if not text:
        problems.append(RowProblem(line, column, "empty quantity"))
        return None
    if _WHOLE.fullmatch(text):
        value = int(text.split(".")[0])
        if abs(value) <= _LIMIT:
            return value
        problems.append(RowProblem(line, column, f"quantity {text} is out of range"))
        return None

    if _NUMBER.fullmatch(text):
        message = f"fractional quantity {text}: quantities are whole numbers"
    else:
        message = f"quantity {text!r} is not a number"
    problems.append(RowProblem(line, column, message))
    return None


def _managed(line: int, cell: str, problems: list[RowProblem]) -> bool | None:
    text = cell.strip()
    if not text:
        return None
    if text.lower() in BOOLEANS:
        return BOOLEANS[text.lower()]

    message = f"{text!r} is not a boolean (true/false, yes/no, 1/0)"
    problems.append(RowProblem(line, "manage_inventory", message))
    return None


def _duplicates(rows: Sequence[ImportRow]) -> list[RowProblem]:
    lines: dict[str, list[int]] = {}
    for row in rows:
        lines.setdefault(row.sku, []).append(row.line)

    problems = []
    for sku, found in lines.items():
        if len(found) > 1:
            where = ", ".join(str(line) for line in found)
            message = f"SKU {sku!r} is listed on lines {where}"
            problems += [RowProblem(line, "sku", message) for line in found]
    return problems


# --- applying ----------------------------------------------------------------


def apply_import(
    state: StateStore,
    batch: ImportBatch,
    *,
    source: str,
    now: datetime | None = None,
) -> list[HubRecord]:
    """Write every row of ``batch`` to the hub in one transaction.

    Cells left empty keep the hub's value (a SKU new to the hub is managed,
    with no vendor). Returns the records written, in file order.
    """
    current = state.hub_records(batch.skus)
    records = batch_records(batch, current, source=source, now=now)

    state.put_hub_records(records)
    log.info(
        "event=import.applied path=%s source=%s records=%d",
        batch.path,
        source,
        len(records),
    )
    return records


def batch_records(
    batch: ImportBatch,
    current: Mapping[str, HubRecord],
    *,
    source: str,
    now: datetime | None = None,
) -> list[HubRecord]:
    """The hub records ``batch`` makes of the ``current`` ones, in file order."""
    changed_at = now or datetime.now(UTC)
    return [
        _record(row, current.get(row.sku), changed_at, source) for row in batch.rows
    ]


def _record(
    row: ImportRow, current: HubRecord | None, changed_at: datetime, source: str
) -> HubRecord:
    managed = row.manage_inventory
    if managed is None:
        managed = current.manage_inventory if current else True
    vendor = row.vendor
    if vendor is None and current is not None:
        vendor = current.vendor

    return HubRecord(
        sku=row.sku,
        vendor=vendor,
        manage_inventory=managed,
        quantity_available=row.quantity_available,
        changed_at=changed_at,
        source=source,
    )

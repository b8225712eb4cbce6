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
- ``sku``: an Excel leading apostrophe (``'00123``, written to keep a number
  as text) is dropped, as the emulators do when they seed from a channel
  export (``reconciler.skus``). Refused: an empty SKU, a SKU holding a
  control character (line break, tab, NUL, any C0 or C1 control), and a SKU
  starting with ``=`` or ``@``, which a spreadsheet opening an export of it
  would run as a formula.
- ``quantity_available`` is a whole number in ASCII digits, written ``5`` or
  ``5.0`` (other scripts' digits, such as Arabic-Indic five, are refused). Negative
  quantities are accepted: a store can be oversold, and the hub records it.
  Fractional, empty, non-numeric and out-of-range (beyond 32 bits) values
  are refused.
- ``manage_inventory`` is ``true``/``false``, ``yes``/``no`` or ``1``/``0``,
  in any letter case. The file is data, not YAML: nothing else is a boolean.
  An empty cell (or no such column) keeps the hub's current value; a SKU new
  to the hub is then managed.
- ``vendor``: an empty cell (or no such column) keeps the hub's current vendor;
  given the config's vendors, any other name is refused.
- Values are stripped of surrounding spaces; blank lines are skipped.
- A SKU listed twice is refused on every line it appears on: which of the two
  figures is right cannot be told. When a store matches SKUs regardless of
  letter case (Magento), ``A-1`` and ``a-1`` are the same SKU twice, and a
  SKU new to the hub that the hub holds in another case is refused too
  (``check_against_hub``).
- The header is the first CSV record, read like the rows: a quote left open
  in it refuses the file instead of swallowing the next line.

Any refused row refuses the whole file with ``ImportRefused`` listing every
problem by physical line number (1 is the header), and nothing is written.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from reconciler.errors import ImportRefused, RowProblem
from reconciler.hub.records import HubRecord, StateStore
from reconciler.skus import without_apostrophe

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

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
_WHOLE = re.compile(r"[+-]?[0-9]+(?:\.0+)?")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
FORMULA_STARTS = "=@"
"""A SKU starting with one of these is refused: a spreadsheet opening a file
of it (an export, a report) would run the cell as a formula."""
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


def parse_import(
    path: Path,
    *,
    vendors: Collection[str] | None = None,
    case_insensitive: Sequence[str] = (),
) -> ImportBatch:
    """Read and check an import file; raise ``ImportRefused`` on any problem.

    ``vendors``, when given, are the only names a ``vendor`` cell may hold.
    ``case_insensitive`` names the stores that match SKUs regardless of
    letter case: when there is any, SKUs differing only in case are
    duplicates. Both come from the config; this module stays free of it.
    """
    text = _decode(path, path.read_bytes())
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True
    )
    columns = _columns(path, reader)

    rows, problems = _rows(reader, columns, vendors)
    problems.extend(_duplicates(rows, case_insensitive))
    if problems:
        _refuse(path, problems)

    log.info("event=import.parsed path=%s rows=%d", path, len(rows))
    return ImportBatch(path=path, rows=tuple(rows))


def check_against_hub(
    batch: ImportBatch, hub_skus: Iterable[str], case_insensitive: Sequence[str]
) -> None:
    """Refuse a batch SKU new to the hub that the hub holds in another case.

    On a store matching SKUs regardless of case both would be one item, so
    the hub would hold two figures for it. Nothing to check when no store in
    ``case_insensitive`` does that.
    """
    if not case_insensitive:
        return
    known: dict[str, str] = {}
    exact = set()
    for sku in hub_skus:
        known.setdefault(sku.casefold(), sku)
        exact.add(sku)

    stores = ", ".join(case_insensitive)
    problems = [
        RowProblem(
            row.line,
            "sku",
            f"SKU {row.sku!r} is {known[row.sku.casefold()]!r} in the hub and "
            f"{stores} matches SKUs regardless of letter case; write it as the "
            "hub does",
        )
        for row in batch.rows
        if row.sku not in exact and row.sku.casefold() in known
    ]
    if problems:
        _refuse(batch.path, problems)


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


def _delimiter(text: str) -> str:
    """``;`` when the first physical line holds more of them than of ``,``."""
    first = text.partition("\n")[0]
    return ";" if first.count(";") > first.count(",") else ","


def _columns(path: Path, reader: CsvReader) -> list[str]:
    """The header's column names, or refuse the file over its header.

    The header is the reader's first record, read like every row, so that a
    quote left open in it cannot swallow the next line unnoticed.
    """
    try:
        header = next(reader, [])
    except csv.Error as error:
        _refuse(path, [RowProblem(1, HEADER, f"unreadable CSV: {error}")])
    if not any(name.strip() for name in header):
        _refuse(path, [RowProblem(1, HEADER, "no header line: the file is empty")])

    names = [name.strip().lower() for name in header]
    problems = [
        RowProblem(1, _column_label(name, index), _header_problem(name))
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


def _column_label(name: str, index: int) -> str:
    if not name or _control(name) is not None:
        return f"(column {index})"
    return name


def _header_problem(name: str) -> str:
    if not name:
        return "column without a name"
    if _control(name) is not None:
        return (
            f"column name {name!r} holds a control character "
            "(a quote left open in the header?)"
        )
    known = ", ".join(REQUIRED + OPTIONAL)
    return f"unknown column (known columns: {known})"


class _Unreadable(Exception):
    """A record the csv module cannot parse (a stray or unclosed quote)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


def _records(reader: CsvReader) -> Iterator[tuple[int, list[str]]]:
    """The rows after the header, each with the physical line it starts on."""
    start = reader.line_num + 1
    try:
        for fields in reader:
            yield start, fields
            start = reader.line_num + 1
    except csv.Error as error:
        raise _Unreadable(start, str(error)) from error


def _rows(
    reader: CsvReader, columns: list[str], vendors: Collection[str] | None
) -> tuple[list[ImportRow], list[RowProblem]]:
    rows: list[ImportRow] = []
    problems: list[RowProblem] = []
    try:
        for line, fields in _records(reader):
            if not any(field.strip() for field in fields):
                continue
            row, found = _row(line, fields, columns, vendors)
            problems.extend(found)
            if row is not None:
                rows.append(row)
    except _Unreadable as error:
        problems.append(RowProblem(error.line, ROW, f"unreadable CSV: {error}"))
    return rows, problems


def _row(
    line: int,
    fields: list[str],
    columns: list[str],
    vendors: Collection[str] | None,
) -> tuple[ImportRow | None, list[RowProblem]]:
    if len(fields) != len(columns):
        count = f"{len(fields)} fields, but the header has {len(columns)}"
        return None, [RowProblem(line, ROW, count)]

    cells = dict(zip(columns, fields, strict=True))
    problems: list[RowProblem] = []
    sku = _sku(line, cells["sku"], problems)
    quantity = _quantity(line, cells["quantity_available"], problems)
    managed = _managed(line, cells.get("manage_inventory", ""), problems)
    vendor = _vendor(line, cells.get("vendor", ""), vendors, problems)

    if problems or sku is None or quantity is None:
        return None, problems
    return ImportRow(line, sku, quantity, managed, vendor), []


def _sku(line: int, cell: str, problems: list[RowProblem]) -> str | None:
    """The SKU of ``cell``, without an Excel apostrophe (as the emulators seed
    it), or None with the reason it is refused."""
    sku = without_apostrophe(cell)
    control = _control(cell)
    if control is not None:
        message = (
            f"SKU {sku!r} holds the control character {control}; "
            "SKUs are printable text"
        )
    elif not sku:
        message = "empty SKU"
    elif sku[0] in FORMULA_STARTS:
        message = (
            f"SKU {sku!r} starts with {sku[0]!r}: a spreadsheet opening an "
            "export of it would run it as a formula"
        )
    else:
        return sku
    problems.append(RowProblem(line, "sku", message))
    return None


def _control(text: str) -> str | None:
    """The first control character of ``text`` (C0, DEL or C1), as its code
    point (``U+001B`` for ESC)."""
    for char in text:
        if unicodedata.category(char) == "Cc":
            return f"U+{ord(char):04X}"
    return None


def _vendor(
    line: int,
    cell: str,
    vendors: Collection[str] | None,
    problems: list[RowProblem],
) -> str | None:
    vendor = cell.strip() or None
    if vendor is None or vendors is None or vendor in vendors:
        return vendor

    known = ", ".join(sorted(vendors)) or "none configured"
    message = f"unknown vendor {vendor!r} (known vendors: {known})"
    problems.append(RowProblem(line, "vendor", message))
    return None


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
    elif any(char.isdigit() and not char.isascii() for char in text):
        message = f"quantity {text!r} is not written in ASCII digits 0-9"
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


def _duplicates(
    rows: Sequence[ImportRow], case_insensitive: Sequence[str]
) -> list[RowProblem]:
    """Every row of a SKU listed twice; with ``case_insensitive`` stores,
    SKUs differing only in letter case are one SKU."""
    groups: dict[str, list[ImportRow]] = {}
    for row in rows:
        key = row.sku.casefold() if case_insensitive else row.sku
        groups.setdefault(key, []).append(row)

    problems = []
    for group in groups.values():
        if len(group) > 1:
            message = _duplicate_message(group, case_insensitive)
            problems += [RowProblem(row.line, "sku", message) for row in group]
    return problems


def _duplicate_message(group: Sequence[ImportRow], stores: Sequence[str]) -> str:
    where = ", ".join(str(row.line) for row in group)
    spellings = list(dict.fromkeys(row.sku for row in group))
    if len(spellings) == 1:
        return f"SKU {spellings[0]!r} is listed on lines {where}"
    written = ", ".join(repr(sku) for sku in spellings)
    return (
        f"SKU {spellings[0]!r} is listed on lines {where} as {written}: "
        f"{', '.join(stores)} matches SKUs regardless of letter case"
    )


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

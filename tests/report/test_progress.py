"""Terminal progress: silent off a terminal, carriage-return lines on one."""

from __future__ import annotations

import io
import threading

from reconciler.report.progress import Progress


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal, and keeps what was written."""

    def isatty(self) -> bool:
        return True


def screen(written: str) -> list[str]:
    """What a terminal shows: each ``\\r`` returns to the start of the line."""
    rows = [""]
    column = 0
    for char in written:
        if char == "\n":
            rows.append("")
            column = 0
        elif char == "\r":
            column = 0
        else:
            row = rows[-1]
            rows[-1] = row[:column] + char + row[column + 1 :]
            column += 1
    return [row.rstrip() for row in rows]


def exercise(progress: Progress) -> None:
    progress.read_started("shopify-us")
    progress.read_page("shopify-us", 250)
    progress.read_done("shopify-us", 249)
    progress.write_batch("shopify-us", 100, 200, 100)
    progress.store_done("shopify-us")


def test_silent_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress.for_stream(stream)

    exercise(progress)

    assert (progress.enabled, stream.getvalue()) == (False, "")


def test_a_terminal_gets_progress() -> None:
    assert Progress.for_stream(FakeTerminal()).enabled


def test_updates_redraw_one_line_and_a_done_store_keeps_its_own() -> None:
    terminal = FakeTerminal()

    exercise(Progress(terminal, width=80))

    assert screen(terminal.getvalue()) == [
        "shopify-us: read 249 items, done",
        "shopify-us: wrote 100/200, done",
        "",
    ]
    assert terminal.getvalue().split("\r")[:4] == [
        "shopify-us: reading, 0 records",
        " " * 30,
        "shopify-us: reading, 250 records",
        " " * 32,
    ]


def test_a_failed_read_ends_its_store_s_line_saying_so() -> None:
    terminal = FakeTerminal()
    progress = Progress(terminal, width=80)

    progress.read_started("magento-eu")
    progress.read_page("magento-eu", 600)
    progress.read_page("shopify-us", 250)
    progress.read_failed("magento-eu")

    assert screen(terminal.getvalue()) == [
        "magento-eu: read failed after 600 records, done",
        "shopify-us: reading, 250 records",
    ]


def test_concurrent_stores_share_the_status_line() -> None:
    terminal = FakeTerminal()
    progress = Progress(terminal, width=80)

    progress.read_page("shopify-us", 500)
    progress.read_page("magento-eu", 1_200)

    assert screen(terminal.getvalue()) == [
        "shopify-us: reading, 500 records | magento-eu: reading, 1,200 records"
    ]


def test_the_status_line_is_cut_at_the_terminal_width() -> None:
    terminal = FakeTerminal()
    progress = Progress(terminal, width=30)

    progress.read_page("shopify-us", 500)
    progress.read_page("magento-eu", 1_200)

    assert screen(terminal.getvalue()) == ["shopify-us: reading, 500 reco"]


def test_threads_end_with_one_line_per_store() -> None:
    terminal = FakeTerminal()
    progress = Progress(terminal, width=200)
    stores = [f"store-{n}" for n in range(8)]

    def work(store: str) -> None:
        progress.read_started(store)
        for page in range(1, 51):
            progress.read_page(store, page * 250)
        progress.read_done(store, 12_500)
        for done in range(0, 1_001, 100):
            progress.write_batch(store, done, 1_000, done)
        progress.store_done(store)

    threads = [threading.Thread(target=work, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(screen(terminal.getvalue())) == sorted(
        [f"{store}: read 12,500 items, done" for store in stores]
        + [f"{store}: wrote 1,000/1,000, done" for store in stores]
        + [""]
    )


def test_changes_sent_but_not_applied_are_not_counted_as_written() -> None:
    terminal = FakeTerminal()
    progress = Progress(terminal, width=80)

    progress.write_batch("magento-eu", 250, 300, 247)
    progress.write_batch("magento-eu", 300, 300, 290)
    progress.store_done("magento-eu")

    assert screen(terminal.getvalue()) == [
        "magento-eu: wrote 290/300, 10 not written, done",
        "",
    ]

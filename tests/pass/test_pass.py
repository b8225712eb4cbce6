"""Whole passes against Magento emulators in-process and a real SQLite file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from reconciler.channels.base import Outcome
from reconciler.errors import ConfigInvalid
from reconciler.hub import open_state
from reconciler.hub.records import JournalEntry
from reconciler.plan.model import Label, SkipReason
from reconciler.report import render_result
from reconciler.report.markdown import escape_prose
from reconciler.report.progress import Progress
from reconciler.runner import EXIT_ERROR, EXIT_OK, EXIT_PENDING
from tests.apply.world import World, seed_hub, write_store, zeroing_master
from tests.report.test_progress import FakeTerminal, screen


def journal(world: World, run_id: int | None) -> list[tuple[str, ...]]:
    assert run_id is not None
    with open_state(world.state_url) as state:
        entries: list[JournalEntry] = state.journal_of(run_id)
    return [
        (e.store, e.sku, e.target, e.field, str(e.before), str(e.after), e.outcome)
        for e in entries
    ]


def stock(world: World) -> None:
    eu, uk = world.emulators["magento-eu"], world.emulators["magento-uk"]
    eu.add_product("A-1", 9)
    eu.add_product("B-2", 4)
    uk.add_product("A-1", 1)
    uk.add_product("B-2", 4)
    seed_hub(world.state_url, {"A-1": (True, 5), "B-2": (True, 4)})


def test_master_store_reaches_other_store_in_one_pass(world: World) -> None:
    stock(world)

    result = world.run()

    assert result.exit_code == EXIT_OK
    assert world.hub() == {"A-1": (True, 9), "B-2": (True, 4)}
    assert world.stock("magento-uk") == {"A-1": 9.0, "B-2": 4.0}
    assert journal(world, result.run_id) == [
        ("magento-eu", "A-1", "hub", "quantity_available", "5", "9", "applied"),
        ("magento-uk", "A-1", "channel", "quantity_available", "1", "9", "applied"),
    ]


def test_second_pass_after_apply_plans_nothing(world: World) -> None:
    stock(world)
    world.run()
    for emulator in world.emulators.values():
        emulator.clear_log()

    second = world.run(dry_run=True, detailed_exitcode=True)

    assert not second.plan.has_changes
    assert second.exit_code == EXIT_OK
    assert world.writes("magento-eu") == world.writes("magento-uk") == []


def test_dry_run_writes_nothing_anywhere(world: World) -> None:
    stock(world)

    result = world.run(dry_run=True, detailed_exitcode=True)

    assert result.exit_code == EXIT_PENDING
    assert result.plan.summary()["pulls"] == result.plan.summary()["pushes"] == 1
    assert world.writes("magento-eu") == world.writes("magento-uk") == []
    assert world.hub() == {"A-1": (True, 5), "B-2": (True, 4)}
    with open_state(world.state_url) as state:
        assert state.runs() == []
        assert state.last_seen("magento-uk") == {}


def test_dry_run_without_state_file_creates_none(world: World) -> None:
    world.emulators["magento-uk"].add_product("A-1", 1)
    state_file = Path(world.state_url.removeprefix("sqlite:///"))

    result = world.run(dry_run=True)

    assert result.exit_code == EXIT_OK
    assert not state_file.exists()


@pytest.mark.parametrize(
    ("recheck", "before"),
    [
        # The re-read finds the sale: stale, re-planned from 0, written.
        pytest.param(True, 0, id="recheck"),
        # Written as planned from 1, over the sale: the hub is the master.
        pytest.param(False, 1, id="default"),
    ],
)
def test_concurrent_sale_ends_at_the_hub_s_value_and_next_pass_converges(
    world: World, recheck: bool, before: int
) -> None:
    if recheck:
        store_file = world.root / "config" / "stores" / "magento-uk.yaml"
        text = store_file.read_text().replace(
            "store_code: all", "store_code: all\n  recheck: true"
        )
        store_file.write_text(text)
    stock(world)
    world.emulators["magento-uk"].faults.concurrent_sales["A-1"] = 1

    first = world.run()

    assert first.exit_code == EXIT_OK
    a1 = [
        r
        for r in first.results
        if r.change.sku == "A-1" and r.change.store == "magento-uk"
    ]
    assert [r.outcome for r in a1] == [Outcome.APPLIED]
    assert a1[-1].change.expected_quantity == before
    assert journal(world, first.run_id)[-1] == (
        "magento-uk",
        "A-1",
        "channel",
        "quantity_available",
        str(before),
        "9",
        "applied",
    )
    assert world.stock("magento-uk")["A-1"] == 9.0
    second = world.run(dry_run=True)
    assert not second.plan.has_changes


def test_partial_failure_reports_the_item_and_next_pass_retries_only_it(
    world: World,
) -> None:
    stock(world)
    uk = world.emulators["magento-uk"]
    uk.add_product("C-3", 0)
    uk.add_product("D-4", 0)
    seed_hub(world.state_url, {"C-3": (True, 2), "D-4": (True, 6)})
    uk.faults.refusals["C-3"] = ("400", "The qty of C-3 is locked by a reservation")

    first = world.run()

    assert first.exit_code == EXIT_ERROR
    assert [(r.change.sku, r.outcome, r.message) for r in first.failed_items] == [
        ("C-3", Outcome.REFUSED, "The qty of C-3 is locked by a reservation")
    ]
    assert world.stock("magento-uk") == {"A-1": 9.0, "B-2": 4.0, "C-3": 0.0, "D-4": 6.0}

    uk.faults.refusals.clear()
    second = world.run()

    assert second.exit_code == EXIT_OK
    assert [(c.store, c.sku) for s in second.plan.stores for c in s.pushes] == [
        ("magento-uk", "C-3")
    ]
    assert world.stock("magento-uk")["C-3"] == 2.0


def test_guard_trips_on_a_batch_that_zeroes_most_of_a_store(world: World) -> None:
    uk = world.emulators["magento-uk"]
    skus = [f"Z-{n:02}" for n in range(20)]
    for sku in skus:
        uk.add_product(sku, 5)
    seed_hub(world.state_url, dict.fromkeys(skus, (True, 0)))

    result = world.run(stores=("magento-uk",))

    assert result.exit_code == EXIT_ERROR
    uk_plan = result.plan.store("magento-uk")
    verdict = uk_plan.guard if uk_plan is not None else None
    assert verdict is not None and verdict.blocks
    assert [(f.store, f.stage, f.message) for f in result.failures] == [
        (
            "magento-uk",
            "guard",
            "plan zeroes 20 (100.0%) and changes 20 (100.0%) of 20 managed SKUs "
            "on magento-uk; guard.max_zeroed is 5% in stores/magento-uk.yaml:11 "
            "(a store of 20 managed SKUs trips from 4) and guard.max_changed is "
            "50% in stores/magento-uk.yaml:12; raise them, or pass "
            "--allow-mass-change magento-uk to one run",
        )
    ]
    assert world.writes("magento-uk") == []
    assert set(world.stock("magento-uk").values()) == {5.0}

    allowed = world.run(stores=("magento-uk",), allow_mass_change=("magento-uk",))

    assert allowed.exit_code == EXIT_OK
    assert set(world.stock("magento-uk").values()) == {0.0}


def test_two_masters_for_one_sku_change_nothing(world: World) -> None:
    stock(world)
    write_store(world.root, "magento-uk", "channel_to_hub")

    with pytest.raises(ConfigInvalid) as raised:
        world.run()

    assert any("two masters" in p.message for p in raised.value.problems)
    assert world.writes("magento-eu") == world.writes("magento-uk") == []
    assert world.hub() == {"A-1": (True, 5), "B-2": (True, 4)}


def test_invalid_config_changes_nothing(world: World) -> None:
    stock(world)
    bad = world.root / "config" / "stores" / "magento-uk.yaml"
    bad.write_text(bad.read_text().replace("hub_to_channel", "sideways"))

    with pytest.raises(ConfigInvalid) as raised:
        world.run()

    assert [p.path for p in raised.value.problems] == ["stores/magento-uk.yaml"]
    assert world.emulators["magento-eu"].requests == []
    assert world.emulators["magento-uk"].requests == []
    with open_state(world.state_url) as state:
        assert state.runs() == []


def test_drift_on_the_hub_master_store_is_labelled(world: World) -> None:
    stock(world)
    world.run()
    world.emulators["magento-uk"].set_quantity("B-2", 1)

    plan = world.run(dry_run=True).plan

    uk = plan.store("magento-uk")
    assert uk is not None
    assert [(c.sku, c.label) for c in uk.pushes] == [("B-2", Label.DRIFT)]


def test_a_terminal_sees_each_store_s_read_page_by_page(world: World) -> None:
    stock(world)
    eu = world.emulators["magento-eu"]
    for number in range(648):
        eu.add_product(f"P-{number:04d}", 1)
    terminal = FakeTerminal()

    world.run(dry_run=True, progress=Progress(terminal, width=200))

    drawn = terminal.getvalue().replace("\r", "\n")
    for shown in (
        "magento-eu: reading, 300 records",
        "magento-eu: reading, 600 records",
        "magento-eu: reading, 650 records",
        "magento-uk: reading, 2 records",
    ):
        assert shown in drawn
    assert "magento-eu: read 650 items, done" in screen(terminal.getvalue())
    assert "magento-uk: read 2 items, done" in screen(terminal.getvalue())


def test_a_master_store_zeroing_much_of_the_hub_is_stopped_by_its_guard(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    zeroing_master(world)
    hub_before = world.hub()

    with caplog.at_level(logging.WARNING, logger="reconciler.plan.guard"):
        result = world.run()

    assert result.exit_code == EXIT_ERROR
    eu = result.plan.store("magento-eu")
    uk = result.plan.store("magento-uk")
    assert eu is not None and uk is not None
    assert eu.guard is not None and eu.guard.blocks
    assert (eu.guard.zeroed, len(eu.pulls)) == (12, 12)
    assert eu.guard.message is not None
    assert "12 of them the hub would take from magento-eu" in eu.guard.message
    assert uk.pushes == ()
    assert [(s.sku, s.reason) for s in uk.skipped] == [
        ("S-19", SkipReason.MASTER_GUARDED)
    ]
    assert uk.skipped[0].detail is not None
    assert uk.skipped[0].detail.startswith(
        "the guard of master store magento-eu stopped it: plan zeroes 12 (60.0%) "
        "and changes 12 (60.0%) of 20 managed SKUs on magento-eu"
    )
    assert world.hub() == hub_before
    assert world.writes("magento-uk") == []
    assert journal(world, result.run_id) == []
    tripped = [
        r.getMessage() for r in caplog.records if "guard.tripped" in r.getMessage()
    ]
    assert [message.split()[1] for message in tripped] == ["store=magento-eu"]
    with open_state(world.state_url) as state:
        assert state.last_seen("magento-eu") == {}
    again = world.run(dry_run=True).plan.store("magento-eu")
    assert again is not None
    assert {change.label for change in again.pulls} == {Label.NEW}  # not drift


def test_allowing_the_master_store_s_mass_change_lets_it_through(
    world: World,
) -> None:
    zeroing_master(world)

    result = world.run(allow_mass_change=("magento-eu", "magento-uk"))

    assert result.exit_code == EXIT_OK, result.failures
    assert world.hub()["S-00"] == (True, 0)
    assert world.hub()["S-19"] == (True, 5)
    assert world.stock("magento-uk")["S-00"] == 0
    assert world.stock("magento-uk")["S-19"] == 5


def test_msi_store_skips_a_flag_it_cannot_write_and_the_pass_succeeds(
    world: World,
) -> None:
    store_file = world.root / "config" / "stores" / "magento-uk.yaml"
    text = store_file.read_text().replace(
        "store_code: all", "store_code: all\n  source: default"
    )
    store_file.write_text(text)
    uk = world.emulators["magento-uk"]
    uk.add_product("NO-STOCK", 3, use_config_manage_stock=False, manage_stock=False)
    uk.add_product("KEPT", 1)
    seed_hub(world.state_url, {"NO-STOCK": (True, 8), "KEPT": (True, 6)})

    result = world.run(stores=("magento-uk",))

    assert result.exit_code == EXIT_OK, result.failures
    plan = result.plan.store("magento-uk")
    assert plan is not None
    assert [(s.sku, s.reason) for s in plan.skipped] == [
        ("NO-STOCK", SkipReason.NOT_WRITABLE)
    ]
    assert world.writes("magento-uk") == [
        ("POST", "/rest/all/V1/inventory/source-items")
    ]
    assert uk.source_quantity("KEPT") == 6
    assert uk.source_quantity("NO-STOCK") == 3


def test_a_pass_naming_one_sku_weighs_its_guard_against_the_whole_store(
    world: World,
) -> None:
    skus = world.add_products("magento-uk", "S", 20, 5)
    seed_hub(world.state_url, dict.fromkeys(skus, (True, 5)))
    assert world.run(stores=("magento-uk",)).exit_code == EXIT_OK  # sees all 20
    seed_hub(world.state_url, {"S-00": (True, 0)})

    result = world.run(stores=("magento-uk",), skus=("S-00",))

    assert result.exit_code == EXIT_OK, result.failures
    plan = result.plan.store("magento-uk")
    assert plan is not None and plan.guard is not None
    assert (plan.managed_count, plan.guard.zeroed, plan.guard.tripped) == (20, 1, False)
    assert world.stock("magento-uk")["S-00"] == 0


def test_a_tripped_guard_is_said_once_in_text_and_in_full_in_markdown(
    world: World,
) -> None:
    zeroing_master(world)

    result = world.run()
    text = render_result(result, "text")
    markdown = render_result(result, "markdown")

    eu = result.plan.store("magento-eu")
    assert eu is not None and eu.guard is not None and eu.guard.message is not None
    message = eu.guard.message
    assert text.count(f"guard tripped, nothing applied: {message}") == 1
    assert (
        text.count(f"why: the guard of master store magento-eu stopped it: {message}")
        == 1
    )
    assert "stopped: guard:" not in text
    assert f"- **magento-eu**: {escape_prose(message)}\n" in markdown


def test_a_held_difference_is_still_drift_on_the_next_pass(world: World) -> None:
    uk = world.emulators["magento-uk"]
    uk.add_product("A-1", 5)
    seed_hub(world.state_url, {"A-1": (True, 5)})
    assert world.run(stores=("magento-uk",)).exit_code == EXIT_OK  # in sync: seen 5
    uk.set_quantity("A-1", 4)  # a sale: drift
    store_file = world.root / "config" / "stores" / "magento-uk.yaml"
    store_file.write_text(store_file.read_text().replace("automatic", "manual"))

    held = world.run(stores=("magento-uk",))
    named = world.run(stores=("magento-uk",), skus=("A-1",), dry_run=True)

    held_plan, named_plan = (
        held.plan.store("magento-uk"),
        named.plan.store("magento-uk"),
    )
    assert held_plan is not None and named_plan is not None
    assert [h.sku for h in held_plan.held] == ["A-1"]
    assert [(c.sku, c.label) for c in named_plan.pushes] == [("A-1", Label.DRIFT)]


def test_a_source_holding_nothing_fails_the_read_naming_the_store_file(
    world: World,
) -> None:
    store_file = world.root / "config" / "stores" / "magento-uk.yaml"
    text = store_file.read_text().replace(
        "store_code: all", "store_code: all\n  source: eu-wset"
    )
    store_file.write_text(text)
    world.add_products("magento-uk", "S", 3, 5)

    result = world.run(stores=("magento-uk",), dry_run=True)

    assert result.exit_code == EXIT_ERROR
    assert [(f.store, f.stage, f.message) for f in result.failures] == [
        (
            "magento-uk",
            "read",
            "stores/magento-uk.yaml: magento-uk: source 'eu-wset' holds none of the "
            "3 products of the store; is channel.source the code of one of its MSI "
            "sources?",
        )
    ]

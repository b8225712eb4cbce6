"""Whole passes against ``reconcile sandbox serve``: real HTTP on 127.0.0.1.

The same scenarios as the in-process pass tests, with a Magento master store
feeding the hub and the hub feeding a second store of either channel; what
the stores received is read from the server's request log.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.channels.base import Outcome
from reconciler.hub import open_state
from reconciler.runner import EXIT_ERROR, EXIT_OK, EXIT_PENDING
from tests.apply.served import ServedStore, ServedWorld, served_world
from tests.apply.world import seed_hub

MASTER = "magento-eu"
TARGET = "store-uk"
LOCKED = "The qty of C-3 is locked by a reservation"
PUT = "PUT /rest/all/V1/products/{sku}/stockItems/1"
SET = "graphql SetAvailable"
SALE_WRITES = {
    # Magento has no compare-and-set (and ``recheck`` is off): the hub's value
    # is written over the sale, as the next pass would write it anyway.
    "magento": [PUT.format(sku="A-1")],
    # Shopify's compare-and-set refuses the first write; the re-planned one lands.
    "shopify": [SET, SET],
}
SALE_BEFORE = {
    # The value the write was planned from: the plan's read on Magento, the
    # re-read after the stale compare-and-set on Shopify.
    "magento": 1,
    "shopify": 0,
}


@pytest.fixture(params=["magento", "shopify"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServedWorld]:
    """magento-eu is master; store-uk (Magento or Shopify) takes the hub's values."""
    stores = [
        ServedStore(MASTER, "magento", "channel_to_hub", {"A-1": 9, "B-2": 4}),
        ServedStore(
            TARGET,
            request.param,
            "hub_to_channel",
            {"A-1": 1, "B-2": 4, "C-3": 0, "D-4": 0},
        ),
    ]
    with served_world(tmp_path, stores) as served:
        seed_hub(
            served.state_url,
            {"A-1": (True, 5), "B-2": (True, 4), "C-3": (True, 0), "D-4": (True, 0)},
        )
        yield served


def kind(world: ServedWorld) -> str:
    return world.stores[TARGET].kind


def write_of(world: ServedWorld, sku: str) -> str:
    """How one item's write reaches the target store on the wire."""
    return PUT.format(sku=sku) if kind(world) == "magento" else SET


def journal(world: ServedWorld, run_id: int | None) -> list[tuple[str, ...]]:
    assert run_id is not None
    with open_state(world.state_url) as state:
        entries = state.journal_of(run_id)
    return [
        (e.store, e.sku, e.target, e.field, str(e.before), str(e.after), e.outcome)
        for e in entries
    ]


def test_master_store_reaches_other_store_in_one_pass(world: ServedWorld) -> None:
    result = world.run()

    assert result.exit_code == EXIT_OK, result.failures
    assert world.hub() == {
        "A-1": (True, 9),
        "B-2": (True, 4),
        "C-3": (True, 0),
        "D-4": (True, 0),
    }
    assert world.stock(TARGET) == {"A-1": 9, "B-2": 4, "C-3": 0, "D-4": 0}
    assert world.writes(MASTER) == []
    assert world.writes(TARGET) == [write_of(world, "A-1")]
    assert journal(world, result.run_id) == [
        (MASTER, "A-1", "hub", "quantity_available", "5", "9", "applied"),
        (TARGET, "A-1", "channel", "quantity_available", "1", "9", "applied"),
    ]


def test_second_pass_after_apply_plans_and_sends_nothing(world: ServedWorld) -> None:
    world.run()
    world.reset_logs()

    second = world.run()

    assert not second.plan.has_changes
    assert second.exit_code == EXIT_OK
    assert second.results == ()
    assert world.writes(MASTER) == world.writes(TARGET) == []
    assert journal(world, second.run_id) == []


def test_dry_run_sends_no_mutation_and_writes_nothing(world: ServedWorld) -> None:
    result = world.run(dry_run=True, detailed_exitcode=True)

    assert result.exit_code == EXIT_PENDING
    summary = result.plan.summary()
    assert (summary["pulls"], summary["pushes"]) == (1, 1)
    assert world.control("GET", TARGET, "requests") != []
    assert world.writes(MASTER) == world.writes(TARGET) == []
    assert world.stock(TARGET) == {"A-1": 1, "B-2": 4, "C-3": 0, "D-4": 0}
    assert world.hub()["A-1"] == (True, 5)
    with open_state(world.state_url) as state:
        assert state.runs() == []
        assert state.last_seen(TARGET) == {}


def test_sale_between_read_and_write_ends_at_the_hub_s_value(
    world: ServedWorld,
) -> None:
    world.faults(TARGET, concurrent_sales={"A-1": 1})
    before = SALE_BEFORE[kind(world)]

    first = world.run()

    assert first.exit_code == EXIT_OK, first.failures
    pushed = [
        (r.change.sku, r.outcome, r.change.expected_quantity)
        for r in first.results
        if r.change.store == TARGET
    ]
    assert pushed == [("A-1", Outcome.APPLIED, before)]
    assert journal(world, first.run_id)[-1] == (
        TARGET,
        "A-1",
        "channel",
        "quantity_available",
        str(before),
        "9",
        "applied",
    )
    assert world.writes(TARGET) == SALE_WRITES[kind(world)]
    assert world.stock(TARGET)["A-1"] == 9
    assert not world.run(dry_run=True).plan.has_changes


def test_partial_failure_reports_the_item_and_next_pass_retries_only_it(
    world: ServedWorld,
) -> None:
    seed_hub(world.state_url, {"C-3": (True, 2), "D-4": (True, 6)})
    world.faults(TARGET, refusals={"C-3": ["400", LOCKED]})

    first = world.run()

    assert first.exit_code == EXIT_ERROR
    assert [(r.change.sku, r.outcome, r.message) for r in first.failed_items] == [
        ("C-3", Outcome.REFUSED, LOCKED)
    ]
    assert world.stock(TARGET) == {"A-1": 9, "B-2": 4, "C-3": 0, "D-4": 6}

    world.faults(TARGET, refusals={})
    world.reset_logs()
    second = world.run()

    assert second.exit_code == EXIT_OK, second.failures
    pushes = [(c.store, c.sku) for s in second.plan.stores for c in s.pushes]
    assert pushes == [(TARGET, "C-3")]
    assert world.writes(TARGET) == [write_of(world, "C-3")]
    assert world.stock(TARGET)["C-3"] == 2


def test_reconcile_command_applies_over_loopback_with_tokens_in_its_env(
    world: ServedWorld,
) -> None:
    command = [sys.executable, "-m", "reconciler", "--config", "config"]
    command += ["--state", world.state_url]
    env = {**os.environ, **world.env}

    def reconcile(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *options],
            cwd=world.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    applied = reconcile("--yes")
    again = reconcile("--dry-run", "--detailed-exitcode")

    assert applied.returncode == EXIT_OK, applied.stderr
    # skipped: C-3 and D-4 are in the hub but not listed on the master store
    assert [line for line in applied.stdout.splitlines() if ": " in line][-1] == (
        "Applied: 1 pulled into the hub, 1 pushed to stores, 0 stale, 0 refused, "
        "0 deferred, 0 failed, 0 held, 0 conflicts, 2 skipped."
    )
    assert world.stock(TARGET)["A-1"] == 9
    assert again.returncode == EXIT_OK, again.stdout

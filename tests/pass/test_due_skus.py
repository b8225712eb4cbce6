"""The daemon's narrowed passes: only the SKUs due on their own interval.

A product's or vendor's ``interval`` shorter than the store's makes those SKUs
a group the daemon passes on its own; such a pass reads and plans only them,
and a manual item among them stays held (unlike a SKU named with ``--sku``).
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.daemon.passes import due_skus
from reconciler.hub import open_state
from reconciler.hub.records import RunKind
from reconciler.plan.model import HoldReason
from reconciler.policy import load_policy
from reconciler.runner import EXIT_OK, PassOptions, PassResult, run_pass
from tests.apply.world import World, seed_hub

VENDOR = """\
vendor: acme
inventory_feed:
  sync:
    stores:
      magento-eu: {direction: none}
products:
  "FAST-1": {interval: 30s}
  "FAST-M": {interval: 30s, mode: manual}
  "MINUTE-1": {interval: 1m}
  "SLOW-1": {}
"""

SKUS = ("FAST-1", "FAST-M", "MINUTE-1", "SLOW-1", "OTHER-1")


def fast_and_slow(world: World) -> None:
    """magento-uk takes the hub's 5 of every SKU; it holds 1 of each."""
    (world.root / "config" / "vendors" / "acme.yaml").write_text(VENDOR)
    uk = world.emulators["magento-uk"]
    for sku in SKUS:
        uk.add_product(sku, 1)
    seed_hub(world.state_url, dict.fromkeys(SKUS, (True, 5)))


def test_due_skus_are_the_automatic_ones_of_the_due_intervals(world: World) -> None:
    fast_and_slow(world)
    policy = load_policy(world.root / "config")

    fast = due_skus(policy, "magento-uk", world.state_url, frozenset({30.0}))
    both = due_skus(policy, "magento-uk", world.state_url, frozenset({30.0, 60.0}))

    assert fast == ("FAST-1",)
    assert both == ("FAST-1", "MINUTE-1")
    assert policy.sync_intervals("magento-uk") == frozenset({30, 60, 300})
    assert policy.sync_intervals("magento-eu") == frozenset({300})


def test_a_narrowed_pass_writes_only_its_due_skus_and_holds_manual(
    world: World,
) -> None:
    fast_and_slow(world)
    options = PassOptions(
        world.state_url,
        stores=("magento-uk",),
        kind=RunKind.DAEMON,
        due_skus=("FAST-1", "FAST-M"),
    )

    result = run_pass(world.root / "config", options, adapter_factory=world.adapter)

    uk = result.plan.store("magento-uk")
    assert uk is not None
    assert result.exit_code == EXIT_OK
    assert [change.sku for change in uk.pushes] == ["FAST-1"]
    assert [(held.sku, held.reason) for held in uk.held] == [
        ("FAST-M", HoldReason.MANUAL)
    ]
    assert world.stock("magento-uk") == {
        "FAST-1": 5.0, "FAST-M": 1.0, "MINUTE-1": 1.0, "SLOW-1": 1.0, "OTHER-1": 1.0,
    }  # fmt: skip
    assert {path.rsplit("/", 3)[-3] for _, path in world.writes("magento-uk")} == {
        "FAST-1"
    }


def daemon_pass(world: World, due: tuple[str, ...] | None = None) -> PassResult:
    options = PassOptions(
        world.state_url, stores=("magento-uk",), kind=RunKind.DAEMON, due_skus=due
    )
    return run_pass(world.root / "config", options, adapter_factory=world.adapter)


def status_of_uk(world: World) -> tuple[str, str | None]:
    args = ["status", "--config", str(world.root / "config")]
    result = CliRunner().invoke(
        main, [*args, "--state", world.state_url, "--format", "json"]
    )
    (entry,) = [
        e for e in json.loads(result.stdout)["stores"] if e["store"] == "magento-uk"
    ]
    return entry["status"], entry["last_error"]


def test_narrowed_passes_neither_flood_history_nor_hide_what_is_left(
    world: World,
) -> None:
    fast_and_slow(world)
    world.emulators["magento-uk"].faults.refusals["SLOW-1"] = ("400", "locked")
    whole = daemon_pass(world)
    with open_state(world.state_url) as state:
        runs_after_whole = len(state.runs())

    quiet = daemon_pass(world, ("FAST-1",))
    with open_state(world.state_url) as state:
        runs_after_quiet = len(state.runs())
    world.emulators["magento-uk"].set_quantity("FAST-1", 2)
    busy = daemon_pass(world, ("FAST-1",))

    assert whole.run_id is not None
    assert quiet.run_id is None and quiet.exit_code == EXIT_OK
    assert runs_after_quiet == runs_after_whole == 1
    assert busy.run_id is not None
    with open_state(world.state_url) as state:
        run = state.run(busy.run_id)
    assert run is not None and run.summary["narrowed_to_skus"] == 1
    assert status_of_uk(world) == (
        "out_of_sync",
        "the last run left 1 change unresolved",
    )

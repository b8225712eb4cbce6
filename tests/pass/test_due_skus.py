"""The daemon's narrowed passes: only the SKUs due on their own interval.

A product's or vendor's ``interval`` shorter than the store's makes those SKUs
a group the daemon passes on its own; such a pass reads and plans only them,
and a manual item among them stays held (unlike a SKU named with ``--sku``).
"""

from __future__ import annotations

from reconciler.daemon.passes import due_skus
from reconciler.hub.records import RunKind
from reconciler.plan.model import HoldReason
from reconciler.policy import load_policy
from reconciler.runner import EXIT_OK, PassOptions, run_pass
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

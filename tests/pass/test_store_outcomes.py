"""Each run records what became of each store, and ``reconcile status`` blames
only the store that failed, with the run's own reason."""

from __future__ import annotations

import json

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.runner import EXIT_ERROR, EXIT_OK
from tests.apply.world import World, run_summary, seed_hub, zeroing_master


def status_of(world: World) -> dict[str, tuple[str, str | None, int]]:
    args = ["status", "--config", str(world.root / "config")]
    args += ["--state", world.state_url, "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return {
        entry["store"]: (entry["status"], entry["last_error"], entry["failures"])
        for entry in json.loads(result.output)["stores"]
    }


def test_a_store_that_failed_its_read_is_the_only_one_degraded(world: World) -> None:
    world.emulators["magento-eu"].add_product("A-1", 7)
    world.emulators["magento-uk"].faults.server_errors = 100

    result = world.run()

    assert result.exit_code == EXIT_ERROR
    stores = run_summary(world, result.run_id)["stores"]
    assert stores["magento-eu"] == {"outcome": "ok", "error": None, "unresolved": 0}
    assert stores["magento-uk"]["outcome"] == "failed"
    assert stores["magento-uk"]["error"].startswith("read: ")
    assert "503" in stores["magento-uk"]["error"]
    assert status_of(world) == {
        "magento-eu": ("synced", None, 0),
        "magento-uk": ("degraded", stores["magento-uk"]["error"], 1),
    }


def test_consecutive_failures_are_counted_per_store(world: World) -> None:
    world.emulators["magento-uk"].faults.server_errors = 1000

    world.run()
    world.run()

    statuses = status_of(world)
    assert (statuses["magento-eu"][0], statuses["magento-eu"][2]) == ("synced", 0)
    assert (statuses["magento-uk"][0], statuses["magento-uk"][2]) == ("degraded", 2)


def test_a_tripped_guard_is_told_with_its_message(world: World) -> None:
    uk = world.emulators["magento-uk"]
    skus = [f"Z-{n:02}" for n in range(20)]
    for sku in skus:
        uk.add_product(sku, 5)
    seed_hub(world.state_url, dict.fromkeys(skus, (True, 0)))

    result = world.run(stores=("magento-uk",))

    uk_entry = run_summary(world, result.run_id)["stores"]["magento-uk"]
    uk_plan = result.plan.store("magento-uk")
    assert uk_plan is not None and uk_plan.guard is not None
    guard = uk_plan.guard
    assert guard.message
    assert uk_entry == {"outcome": "guard", "error": guard.message, "unresolved": 20}
    assert status_of(world)["magento-uk"] == (
        "degraded",
        f"guard tripped: {guard.message}",
        1,
    )


def test_a_store_left_with_a_refused_item_is_out_of_sync(world: World) -> None:
    eu, uk = world.emulators["magento-eu"], world.emulators["magento-uk"]
    eu.add_product("A-1", 9)
    uk.add_product("A-1", 1)
    uk.add_product("B-2", 0)
    seed_hub(world.state_url, {"A-1": (True, 5), "B-2": (True, 4)})
    uk.faults.refusals["B-2"] = ("400", "B-2 is locked")

    result = world.run()

    assert result.exit_code == EXIT_ERROR
    stores = run_summary(world, result.run_id)["stores"]
    assert stores == {
        "magento-eu": {"outcome": "ok", "error": None, "unresolved": 0},
        "magento-uk": {"outcome": "ok", "error": None, "unresolved": 1},
    }
    assert status_of(world) == {
        "magento-eu": ("synced", None, 0),
        "magento-uk": ("out_of_sync", "the last run left 1 change unresolved", 0),
    }


def test_a_clean_run_leaves_every_store_synced(world: World) -> None:
    world.emulators["magento-eu"].add_product("A-1", 3)
    world.emulators["magento-uk"].add_product("A-1", 1)

    result = world.run()

    assert result.exit_code == EXIT_OK
    assert run_summary(world, result.run_id)["stores"] == {
        "magento-eu": {"outcome": "ok", "error": None, "unresolved": 0},
        "magento-uk": {"outcome": "ok", "error": None, "unresolved": 0},
    }
    assert status_of(world) == {
        "magento-eu": ("synced", None, 0),
        "magento-uk": ("synced", None, 0),
    }


def test_a_store_fed_by_a_guarded_master_waits_and_is_not_synced(
    world: World,
) -> None:
    zeroing_master(world)

    result = world.run()

    stores = run_summary(world, result.run_id)["stores"]
    uk_plan = result.plan.store("magento-uk")
    assert uk_plan is not None
    (skip,) = uk_plan.skipped
    assert skip.detail is not None
    assert stores["magento-uk"] == {
        "outcome": "ok",
        "error": None,
        "unresolved": 0,
        "waiting": 1,
        "waiting_on": [skip.detail],
    }
    assert status_of(world)["magento-uk"] == (
        "out_of_sync",
        f"1 SKU waits on its master store: {skip.detail}",
        0,
    )
    assert status_of(world)["magento-eu"][0] == "degraded"
    args = ["--config", str(world.root / "config"), "--state", world.state_url]
    history = CliRunner().invoke(main, ["history", *args, "--run", str(result.run_id)])
    assert "  magento-uk  ok  (1 waiting on their master store)" in history.stdout


def test_a_store_whose_master_was_not_read_waits(world: World) -> None:
    zeroing_master(world)
    world.emulators["magento-eu"].faults.server_errors = 100

    result = world.run()

    uk = run_summary(world, result.run_id)["stores"]["magento-uk"]
    assert (uk["waiting"], len(uk["waiting_on"])) == (1, 1)
    assert uk["waiting_on"][0].startswith("master store magento-eu was not read: ")
    status, error, _ = status_of(world)["magento-uk"]
    assert status == "out_of_sync"
    assert error is not None
    assert error.startswith("1 SKU waits on its master store: master store magento-eu")

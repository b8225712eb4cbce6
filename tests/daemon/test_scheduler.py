"""Per-store schedules and the failure backoff, on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.clock import FakeClock
from reconciler.daemon.scheduler import (
    PassOutcome,
    RetrySchedule,
    Scheduler,
    StoreSpec,
    StoreStatus,
)

AT = datetime(2025, 1, 1, tzinfo=UTC)
OK = PassOutcome(ok=True, run_id=1)
FAILED = PassOutcome(ok=False, run_id=2, error="read: store b: Magento answered 503")


def scheduler_with(*specs: StoreSpec, clock: FakeClock) -> Scheduler:
    scheduler = Scheduler(RetrySchedule(factor=2.0, cap=40.0))
    scheduler.configure({s.name: s for s in specs}, clock.monotonic())
    return scheduler


def run_due(
    scheduler: Scheduler, clock: FakeClock, outcomes: dict[str, PassOutcome]
) -> list[str]:
    due = scheduler.due(clock.monotonic())
    for store in due:
        scheduler.started(store, clock.monotonic())
        scheduler.finished(store, outcomes.get(store, OK), clock.monotonic(), AT)
    return due


def test_every_store_passes_on_its_own_interval() -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("a", 10), StoreSpec("b", 25), clock=clock)

    passes = []
    for _ in range(60):
        passes += [(clock.now, store) for store in run_due(scheduler, clock, {})]
        clock.sleep(1)

    assert passes == [
        (0, "a"), (0, "b"), (10, "a"), (20, "a"), (25, "b"),
        (30, "a"), (40, "a"), (50, "a"), (50, "b"),
    ]  # fmt: skip


def test_a_failing_store_backs_off_growing_capped_and_resets_on_success() -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("a", 5), StoreSpec("b", 5), clock=clock)
    outcomes = {"b": FAILED}

    b_passes = []
    for second in range(200):
        if second == 120:
            outcomes = {}
        if "b" in run_due(scheduler, clock, outcomes):
            b_passes.append(clock.now)
        clock.sleep(1)

    # 10, 20, 40, then capped at 40, until the success at 160; then every 5 s.
    assert b_passes[:7] == [0, 10, 30, 70, 110, 150, 155]
    assert scheduler.failures("b") == 0


def test_a_failing_store_never_delays_another() -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("a", 5), StoreSpec("b", 5), clock=clock)

    a_passes = []
    for _ in range(30):
        if "a" in run_due(scheduler, clock, {"b": FAILED}):
            a_passes.append(clock.now)
        clock.sleep(1)

    assert a_passes == [0, 5, 10, 15, 20, 25]


def test_a_running_store_is_not_due_again_until_it_finishes() -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("slow", 2), StoreSpec("fast", 2), clock=clock)
    scheduler.started("slow", 0)

    due_while_running = []
    for _ in range(5):
        clock.sleep(1)
        due_while_running.append(scheduler.due(clock.now))
        for store in due_while_running[-1]:
            scheduler.started(store, clock.now)
            scheduler.finished(store, OK, clock.now, AT)

    assert due_while_running == [["fast"], [], ["fast"], [], ["fast"]]


@pytest.mark.parametrize(
    ("outcomes", "suspended", "expected"),
    [
        pytest.param([], False, StoreStatus.OUT_OF_SYNC, id="never-passed"),
        pytest.param([OK], False, StoreStatus.SYNCED, id="passed"),
        pytest.param([OK, FAILED], False, StoreStatus.DEGRADED, id="failed"),
        pytest.param([FAILED, OK], False, StoreStatus.SYNCED, id="recovered"),
        pytest.param(
            [PassOutcome(ok=True, pending=3)],
            False,
            StoreStatus.OUT_OF_SYNC,
            id="pending",
        ),
        pytest.param([OK], True, StoreStatus.SUSPENDED, id="suspended"),
    ],
)
def test_status_of_a_store(
    outcomes: list[PassOutcome], suspended: bool, expected: StoreStatus
) -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("a", 5, suspended), clock=clock)
    for outcome in outcomes:
        scheduler.started("a", clock.now)
        scheduler.finished("a", outcome, clock.now, AT)

    [view] = scheduler.views(clock.now, AT)

    assert view.status is expected


def test_suspended_store_is_never_due_and_a_reload_resumes_it() -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("a", 5, suspended=True), clock=clock)

    assert scheduler.due(100) == []
    assert scheduler.next_wake() is None

    scheduler.configure({"a": StoreSpec("a", 5)}, 100)

    assert scheduler.due(100) == ["a"]


def test_reload_adds_and_drops_stores_and_keeps_the_last_start() -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("a", 10), StoreSpec("gone", 10), clock=clock)
    run_due(scheduler, clock, {})

    scheduler.configure({"a": StoreSpec("a", 4), "new": StoreSpec("new", 10)}, 1)

    assert scheduler.stores() == ["a", "new"]
    assert scheduler.due(1) == ["new"]
    assert scheduler.due(4) == ["new", "a"]  # most overdue first


def test_only_stores_this_replica_holds_are_due() -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("a", 5), StoreSpec("b", 5), clock=clock)

    assert scheduler.due(0, frozenset({"b"})) == ["b"]
    assert scheduler.next_wake(frozenset()) is None


def test_retry_schedule_is_capped_and_never_below_the_interval() -> None:
    schedule = RetrySchedule(factor=2.0, cap=30.0)

    delays = [schedule.delay(n, 5) for n in range(6)]

    assert delays == [5, 10, 20, 30, 30, 30]
    assert schedule.delay(3, 600) == 600


# --- interval groups: products or vendors syncing on their own interval --------


def passes_with_groups(
    scheduler: Scheduler,
    clock: FakeClock,
    seconds: int,
    outcomes: dict[float, PassOutcome] | None = None,
    took: float = 0,
) -> list[tuple[float, frozenset[float] | None]]:
    """Each pass of store "a" as (start, groups it covered); a pass takes
    ``took`` seconds; ``outcomes`` says how a pass starting at a time ends."""
    passes = []
    while clock.now < seconds:
        if scheduler.due(clock.monotonic()):
            started = clock.now
            groups = scheduler.started("a", started)
            passes.append((started, groups))
            clock.sleep(took)
            outcome = (outcomes or {}).get(started, OK)
            scheduler.finished("a", outcome, clock.monotonic(), AT)
        clock.sleep(1)
    return passes


def test_a_shorter_product_interval_passes_its_group_between_whole_passes() -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("a", 60, intervals=(20.0,)), clock=clock)

    passes = passes_with_groups(scheduler, clock, 130)

    fast = frozenset({20.0})
    assert passes == [
        (0, None), (20, fast), (40, fast), (60, None),
        (80, fast), (100, fast), (120, None),
    ]  # fmt: skip


def test_a_group_nearly_due_joins_the_pass_that_starts_now() -> None:
    """A late start drifts the 50 s group to 105; at 100 the 100 s group is
    due and the 50 s group, 5 s (a tenth of its interval) from due, joins it
    rather than start a pass of its own 5 s later."""
    scheduler = Scheduler()
    scheduler.configure({"a": StoreSpec("a", 100, intervals=(50.0,))}, 0)
    assert scheduler.started("a", 0) is None
    scheduler.finished("a", OK, 0, AT)

    late = scheduler.started("a", 55)
    scheduler.finished("a", OK, 56, AT)
    joined = scheduler.started("a", 100)
    scheduler.finished("a", OK, 101, AT)

    assert late == frozenset({50.0})
    assert joined is None
    assert scheduler.due(149) == []
    assert scheduler.due(150) == ["a"]


def test_a_failed_group_pass_backs_off_the_whole_store() -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("a", 60, intervals=(10.0,)), clock=clock)

    passes = passes_with_groups(scheduler, clock, 100, outcomes={10: FAILED})

    fast = frozenset({10.0})
    # The failure at 10 waits 2 x 10 s (the failed group's interval), then
    # the store catches up: at 30 only the fast group is due, at 60 both.
    assert passes == [
        (0, None), (10, fast), (30, fast), (40, fast), (50, fast), (60, None),
        (70, fast), (80, fast), (90, fast),
    ]  # fmt: skip


def test_a_reload_adding_a_group_counts_it_from_the_last_start() -> None:
    clock = FakeClock()
    scheduler = scheduler_with(StoreSpec("a", 60), clock=clock)
    scheduler.started("a", 0)
    scheduler.finished("a", OK, 0, AT)

    scheduler.configure({"a": StoreSpec("a", 60, intervals=(15.0,))}, 5)

    assert scheduler.due(14) == []
    assert scheduler.due(15) == ["a"]
    assert scheduler.started("a", 15) == frozenset({15.0})


def test_a_clean_group_pass_keeps_what_the_whole_pass_left() -> None:
    scheduler = Scheduler()
    scheduler.configure({"a": StoreSpec("a", 60, intervals=(10.0,))}, 0)
    scheduler.started("a", 0)
    scheduler.finished("a", PassOutcome(ok=True, pending=3), 1, AT)

    scheduler.started("a", 10)
    scheduler.finished("a", OK, 11, AT)
    after_group = scheduler.views(11, AT)[0].status
    scheduler.started("a", 60)
    scheduler.finished("a", OK, 61, AT)
    after_whole = scheduler.views(61, AT)[0].status

    assert (after_group, after_whole) == (StoreStatus.OUT_OF_SYNC, StoreStatus.SYNCED)


def test_a_store_with_groups_shows_each_group_s_next_due_time() -> None:
    scheduler = Scheduler()
    scheduler.configure({"a": StoreSpec("a", 60, intervals=(10.0,))}, 0)
    scheduler.started("a", 0)
    scheduler.finished("a", OK, 1, AT)

    [view] = scheduler.views(1, AT)

    assert [
        (interval, (due - AT).total_seconds()) for interval, due in view.groups
    ] == [
        (10.0, 9.0),
        (60.0, 59.0),
    ]
    assert view.next_due_at is not None
    assert (view.next_due_at - AT).total_seconds() == 9.0

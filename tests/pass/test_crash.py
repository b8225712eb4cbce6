"""SIGKILL during a large write: the next pass repairs it, the journal never lies.

One world is kept across the kill points: each round sets new hub values
for every SKU (so each pass has a full write of several batches per store),
starts ``reconcile --yes`` as a real process, kills it at the round's point,
and checks what the kill left behind before a fresh pass repairs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reconciler.hub.records import JournalEntry
from tests.apply.crashworld import CrashWorld, make_crash_world

MAGENTO_SKUS = 1_250
SHOPIFY_SKUS = 1_000
DELAYS = (0.0, 0.02, 0.05)
"""Seconds between seeing the chosen persisted write and the kill: at once
lands between a channel write and its journal entry, later inside the next
batch (the kill comes sooner if that batch is persisted first)."""


@dataclass(frozen=True, slots=True)
class Round:
    """What one kill point left behind and what the next passes made of it."""

    point: str
    killed: bool
    unbacked: list[JournalEntry]
    fresh_exit: int
    left_after_fresh: dict[str, int]
    dry_run_exit: int
    output: str = field(default="", compare=False)
    """The passes' stderr and the plan, shown when a round goes wrong."""


def kill_points(full_write: int) -> list[tuple[int, float]]:
    """After each persisted write but the last, at once and a little later."""
    return [(writes, delay) for writes in range(1, full_write) for delay in DELAYS]


def point_name(writes: int, delay: float) -> str:
    return f"{writes} writes +{delay * 1000:.0f} ms"


@dataclass(frozen=True, slots=True)
class Left:
    """What a kill left: SKUs not written yet, and SKUs written but not journaled
    (the kill landed between a channel write and its journal entry)."""

    unwritten: int
    unjournaled: int


def crash_round(
    world: CrashWorld, number: int, writes: int, delay: float
) -> tuple[Round, Left]:
    """One kill point, checked, repaired and checked again."""
    wanted = world.set_hub(number)
    run_before = world.last_run()

    kill = world.kill_after_writes(wanted, writes, delay)

    killed_run = world.last_run()
    assert killed_run is not None and killed_run != run_before, kill.stderr
    entries = world.journal(killed_run)
    unbacked = world.unbacked_entries(entries)
    left_by_kill = Left(
        sum(world.unconverged(wanted).values()), world.unjournaled(wanted, entries)
    )
    fresh = world.run("--yes")
    left = world.unconverged(wanted)
    dry_run = world.dry_run_in_process()
    outcome = Round(
        point_name(writes, delay),
        kill.killed,
        unbacked,
        fresh.return_code,
        left,
        dry_run.return_code,
        "\n".join((kill.stderr[-2000:], fresh.stderr[-2000:], dry_run.stdout[-2000:])),
    )
    return outcome, left_by_kill


def test_killed_passes_are_repaired_and_never_journal_unwritten_changes(
    tmp_path: Path,
) -> None:
    world = make_crash_world(tmp_path, MAGENTO_SKUS, SHOPIFY_SKUS)
    points = kill_points(world.full_write)

    played = [
        crash_round(world, number, writes, delay)
        for number, (writes, delay) in enumerate(points)
    ]

    assert len(points) >= 20
    converged = dict.fromkeys(world.stores, 0)
    assert [outcome for outcome, _ in played] == [
        Round(point_name(w, d), True, [], 0, converged, 0) for w, d in points
    ]
    left_by_kills = [left for _, left in played]
    mid_pass = [
        0 < left.unwritten < len(world.hub_skus()) or left.unjournaled > 0
        for left in left_by_kills
    ]
    assert sum(mid_pass) >= 0.8 * len(points), left_by_kills
    assert any(left.unjournaled for left in left_by_kills), left_by_kills

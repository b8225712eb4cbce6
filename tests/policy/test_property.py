"""Property: whatever levels set a setting, the most specific one wins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.config.model import Direction, Mode, SyncOverride
from reconciler.policy import (
    BUILT_IN_DIRECTION,
    BUILT_IN_INTERVAL,
    BUILT_IN_MODE,
    Decided,
    Level,
    Policy,
)

from .builders import UNSET, at, override
from .layers import LINES, SKU, STORE, build, path_of

FIVE = list(LINES)  # most specific first


@dataclass(frozen=True)
class Drawn:
    """For each setting, the value each level sets (absent: not set)."""

    direction: dict[Level, Direction]
    mode: dict[Level, Mode]
    interval: dict[Level, int]
    manage_inventory: dict[Level, bool]
    elsewhere: SyncOverride

    def at_level(self, level: Level) -> SyncOverride:
        return override(
            path_of(level),
            LINES[level],
            direction=self.direction.get(level),
            mode=self.mode.get(level),
            interval=self.interval.get(level),
            manage_inventory=self.manage_inventory.get(level),
        )


def per_level(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[Level, Any]]:
    return st.dictionaries(st.sampled_from(FIVE), values, max_size=5)


intervals = st.integers(min_value=1, max_value=86_400)
drawn = st.builds(
    Drawn,
    direction=per_level(st.sampled_from(Direction)),
    mode=per_level(st.sampled_from(Mode)),
    interval=per_level(intervals),
    manage_inventory=per_level(st.booleans()),
    elsewhere=st.just(UNSET)
    | st.builds(
        override,
        st.just("vendors/acme.yaml"),
        st.just(90),
        direction=st.sampled_from(Direction),
        mode=st.sampled_from(Mode),
        interval=intervals,
        manage_inventory=st.booleans(),
    ),
)


def expected(values: dict[Level, Any], offset: int) -> Decided[Any] | None:
    """The value of the first level, in ``Level`` order, that sets it."""
    for level in FIVE:
        if level in values:
            mark = at(path_of(level), LINES[level] + offset)
            return Decided(values[level], level, mark)
    return None


@settings(max_examples=300, deadline=None)
@given(drawn)
def test_the_most_specific_level_set_wins_with_its_provenance(case: Drawn) -> None:
    levels = {level: case.at_level(level) for level in FIVE}
    policy = Policy(build(levels, case.elsewhere))

    resolved = policy.for_sku(STORE, SKU)

    assert resolved.direction == (expected(case.direction, 0) or BUILT_IN_DIRECTION)
    assert resolved.mode == (expected(case.mode, 1) or BUILT_IN_MODE)
    assert resolved.interval == (expected(case.interval, 2) or BUILT_IN_INTERVAL)
    assert resolved.manage_inventory == expected(case.manage_inventory, 3)

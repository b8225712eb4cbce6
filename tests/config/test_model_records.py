"""Marks, settings, overrides and decided values compare as frozen dataclasses do.

They are tuples underneath, for speed; these tests hold the rules a reader of
the model relies on: equal only to the same class, hashed by fields, ordered
only where a ``Mark`` is, and never changed in place.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.config.model import Direction, Mark, Setting, SyncOverride
from reconciler.policy import Decided, Level

MARK = Mark("stores/eu.yaml", 4, 14)
SETTING = Setting(Direction.NONE, MARK)
OVERRIDE = SyncOverride(direction=SETTING)
DECIDED = Decided(Direction.NONE, Level.STORE, MARK)

RECORDS = [
    pytest.param(MARK, ("stores/eu.yaml", 4, 14), id="mark"),
    pytest.param(SETTING, (Direction.NONE, MARK), id="setting"),
    pytest.param(OVERRIDE, (SETTING, None, None, None), id="sync-override"),
    pytest.param(DECIDED, (Direction.NONE, Level.STORE, MARK), id="decided"),
]


@pytest.mark.parametrize(("record", "fields"), RECORDS)
def test_a_record_equals_its_own_class_only(
    record: Any, fields: tuple[Any, ...]
) -> None:
    same = type(record)(*fields)

    assert (record == same, record != same, hash(record) == hash(same)) == (
        True,
        False,
        True,
    )
    assert (record == fields, fields == record, record != fields) == (
        False,
        False,
        True,
    )


@pytest.mark.parametrize(("record", "fields"), RECORDS[1:])
def test_only_marks_are_ordered(record: Any, fields: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError, match="'<' not supported"):
        assert record < type(record)(*fields)


def test_marks_order_by_path_line_and_column_among_marks_only() -> None:
    marks = [Mark("vendors/a.yaml", 2, 1), MARK, Mark("stores/eu.yaml", 4, 3)]

    assert sorted(marks) == [Mark("stores/eu.yaml", 4, 3), MARK, marks[0]]
    with pytest.raises(TypeError, match="'<' not supported"):
        assert MARK < ("stores/eu.yaml", 9, 9)


@pytest.mark.parametrize(
    ("record", "name"),
    [(MARK, "line"), (SETTING, "value"), (OVERRIDE, "mode"), (DECIDED, "level")],
    ids=["mark", "setting", "sync-override", "decided"],
)
def test_a_record_cannot_be_changed(record: Any, name: str) -> None:
    with pytest.raises(AttributeError):
        setattr(record, name, None)


def test_records_show_their_fields_by_name() -> None:
    assert repr(SETTING) == (
        "Setting(value=<Direction.NONE: 'none'>, "
        "mark=Mark(path='stores/eu.yaml', line=4, column=14))"
    )

"""The invalid-config corpus: one folder per case under ``cases/``.

Each folder holds a small config repository and ``expected.txt``: one line per
problem, ``path:line:col :: key word | key word``, in the order the problems
are reported. The repository must be refused with exactly those places, each
message carrying its key words.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ConfigInvalid
from reconciler.policy import load_policy

CASES = Path(__file__).parent / "cases"
CASE_DIRS = sorted(path for path in CASES.iterdir() if path.is_dir())


def _expected(case: Path) -> list[tuple[str, list[str]]]:
    lines = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.split(" :: ", 1) for line in lines if line.strip()]
    return [(place, words.split(" | ")) for place, words in pairs]


def test_the_corpus_has_at_least_forty_cases() -> None:
    assert len(CASE_DIRS) >= 40


@pytest.mark.parametrize("case", CASE_DIRS, ids=[path.name for path in CASE_DIRS])
def test_invalid_config_is_refused_at_the_right_place(case: Path) -> None:
    expected = _expected(case)

    with pytest.raises(ConfigInvalid) as refused:
        load_policy(case)

    problems = refused.value.problems
    places = [f"{p.path}:{p.line}:{p.column}" for p in problems]
    assert places == [place for place, _ in expected]
    for problem, (_, words) in zip(problems, expected, strict=True):
        missing = [word for word in words if word not in problem.message]
        assert missing == [], f"{problem} lacks {missing}"
